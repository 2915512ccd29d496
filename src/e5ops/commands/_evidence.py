"""What the evidence verbs share: the ``--evidence-dir`` option and verdict exit codes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from e5ops.evidence.session import EvidenceConfig
from e5ops.project import find_project_root

if TYPE_CHECKING:
    import argparse

#: Exit codes of verdicts: fine, conditional, refused.
VERDICT_EXIT = {
    "PASS": 0,
    "PROCEED": 0,
    "AUTHORIZE": 0,
    "CONDITIONAL": 10,
    "FAIL": 11,
    "DENY": 11,
}
VERDICT_STYLE = {
    "PASS": "green",
    "PASSED": "green",
    "PROCEED": "green",
    "AUTHORIZE": "green",
    "CONDITIONAL": "yellow",
    "WARNED": "yellow",
    "FAIL": "red",
    "FAILED": "red",
    "DENY": "red",
}
EXIT_CODES_HELP = (
    "Exit codes: 0 PASS/PROCEED/AUTHORIZE, 10 CONDITIONAL, 11 FAIL/DENY, 2 wrong usage "
    "or a refused decision, 6 no signing key, 7 the evidence does not verify."
)


def add_evidence_dir(parser: argparse.ArgumentParser) -> None:
    """Add ``--evidence-dir``."""
    parser.add_argument(
        "--evidence-dir", help="evidence directory (default: $E5OPS_EVIDENCE_DIR or evidence/e5)"
    )


def evidence_config(args: argparse.Namespace) -> EvidenceConfig:
    """Return the evidence settings for the project and ``--evidence-dir``."""
    directory = Path(args.evidence_dir) if args.evidence_dir else None
    return EvidenceConfig.for_project(find_project_root(), directory=directory)


def styled(verdict: str) -> str:
    """Return ``verdict`` in its colour."""
    return f"[bold {VERDICT_STYLE.get(verdict, 'white')}]{verdict}[/]"
