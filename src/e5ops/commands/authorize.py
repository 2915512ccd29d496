"""``e5ops authorize``: the signed authorization decision of a named approver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from e5ops.commands._console import out
from e5ops.commands._evidence import (
    EXIT_CODES_HELP,
    VERDICT_EXIT,
    add_evidence_dir,
    evidence_config,
    styled,
)
from e5ops.gates.review import DECISIONS, authorize, open_verified_store

if TYPE_CHECKING:
    import argparse


def run_authorize(args: argparse.Namespace) -> int:
    """Record the decision on the latest technical assessment."""
    stored = authorize(
        open_verified_store(evidence_config(args)),
        approver=args.approver,
        decision=args.decision,
        conditions=args.conditions,
    )
    decision = stored.record["decision"]
    out.print(
        f"decision: {styled(decision['decision'])} by {decision['approver']}"
        f" on {decision['assessment']['record']}: {stored.envelope}"
    )
    if decision["conditions"]:
        out.print(f"conditions: {decision['conditions']}")
    return VERDICT_EXIT[decision["decision"]]


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``authorize``."""
    parser = verbs.add_parser(
        "authorize",
        help="record the authorization decision, signed, with approver and time",
        description="Writes 06_e5_authorization_decision on the latest technical "
        "assessment. AUTHORIZE over a DENY assessment is refused, and so is "
        "CONDITIONAL without --conditions. " + EXIT_CODES_HELP,
    )
    parser.add_argument("--approver", required=True, help="the person deciding, by name")
    parser.add_argument("--decision", required=True, choices=sorted(DECISIONS))
    parser.add_argument("--conditions", help="what must be done, required for conditional")
    add_evidence_dir(parser)
    parser.set_defaults(func=run_authorize)
