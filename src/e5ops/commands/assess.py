"""``e5ops assess``: the technical assessment over every gate review."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import out
from e5ops.commands._evidence import (
    EXIT_CODES_HELP,
    VERDICT_EXIT,
    add_evidence_dir,
    evidence_config,
    styled,
)
from e5ops.gates.review import assess, open_verified_store

if TYPE_CHECKING:
    import argparse


def run_assess(args: argparse.Namespace) -> int:
    """Write the technical assessment and print its recommendation and reasons."""
    stored = assess(open_verified_store(evidence_config(args)))
    assessment = stored.record["assessment"]
    table = Table("gate", "verdict", "review")
    for gate, result in assessment["gates"].items():
        table.add_row(gate, styled(result["verdict"]), result["record"] or "-")
    out.print(table)
    for reason in assessment["reasons"]:
        out.print(f"- {reason}", highlight=False)
    out.print(f"assessment: {styled(assessment['recommendation'])}: {stored.envelope}")
    return VERDICT_EXIT[assessment["recommendation"]]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``assess``."""
    parser = verbs.add_parser(
        "assess",
        help="write the technical assessment: PROCEED, CONDITIONAL or DENY",
        description="Reads the latest review of every gate (01a to 04a) and writes "
        "05_e5_technical_assessment: DENY if a gate failed or was never reviewed, "
        "CONDITIONAL if a criterion was waived, PROCEED otherwise. " + EXIT_CODES_HELP,
    )
    add_evidence_dir(parser)
    parser.set_defaults(func=run_assess)
