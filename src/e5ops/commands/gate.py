"""``e5ops gate``: record the scope (step 0) or review a gate (steps 1 to 4) on the evidence."""

from __future__ import annotations

from pathlib import Path
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
from e5ops.evidence.steps import GATES
from e5ops.gates.review import define_scope, open_verified_store, review_gate
from e5ops.gates.scope import default_scope_path, load_scope, load_waivers
from e5ops.project import find_project_root

if TYPE_CHECKING:
    import argparse


def _gate_key(text: str) -> str:
    key = text.strip().lower()
    if key.isdigit():
        key = f"{int(key):02d}"
    if key in {"00", "0"}:
        return "00"
    return key if key.endswith("a") else f"{key}a"


def gate(args: argparse.Namespace) -> int:
    """Record the scope, or review one gate and print each criterion's verdict."""
    key = _gate_key(args.gate)
    store = open_verified_store(evidence_config(args))
    if key == "00":
        scope_path = Path(args.scope) if args.scope else default_scope_path(find_project_root())
        stored = define_scope(store, load_scope(scope_path))
        scope = stored.record["scope"]
        table = Table("gate", "criteria", "checks")
        for gate_key, spec in scope["gates"].items():
            checks = sorted({c["check"] for c in spec["criteria"]})
            table.add_row(gate_key, str(len(spec["criteria"])), ", ".join(checks))
        out.print(table)
        for problem in scope["problems"]:
            out.print(f"[red]problem:[/] {problem}")
        out.print(f"scope {styled(scope['verdict'])} from {scope['source']}: {stored.envelope}")
        return VERDICT_EXIT[scope["verdict"]]
    waivers = load_waivers(Path(args.waivers)) if args.waivers else []
    stored = review_gate(store, key, waivers=waivers)
    review = stored.record["review"]
    table = Table("criterion", "verdict", "detail", title=stored.record["title"])
    for criterion in review["criteria"]:
        table.add_row(criterion["id"], styled(criterion["verdict"]), criterion["detail"])
    out.print(table)
    out.print(f"gate {key}: {styled(review['verdict'])}: {stored.envelope}")
    return VERDICT_EXIT[review["verdict"]]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gate``."""
    parser = verbs.add_parser(
        "gate",
        help="record the scope (0) or review a gate (1-4) on the recorded evidence",
        description="Step 0 validates the scope file and records it as "
        "00_e5_scope_definition. Steps 1 to 4 review gates 01a to 04a: each criterion "
        "of the recorded scope is measured on the step's recorded runs and is PASSED, "
        "FAILED, or WARNED when a live waiver covers it. The evidence directory is "
        "verified first. " + EXIT_CODES_HELP,
    )
    parser.add_argument("gate", help="0 for the scope; 1, 2, 3, 4 (or " + ", ".join(GATES) + ")")
    parser.add_argument(
        "--scope", help="scope file for step 0 (default: scope.yml or the shipped one)"
    )
    parser.add_argument("--waivers", help="YAML list of extra waivers for a gate review")
    add_evidence_dir(parser)
    parser.set_defaults(func=gate)
