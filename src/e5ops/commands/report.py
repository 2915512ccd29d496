"""``e5ops report``: one self-contained HTML page over the evidence, and a summary table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import out
from e5ops.commands._evidence import add_evidence_dir, evidence_config, styled
from e5ops.evidence.keys import public_key
from e5ops.evidence.steps import GATES
from e5ops.evidence.store import EvidenceStore
from e5ops.evidence.verify import verify_directory
from e5ops.report import gather, write_report

if TYPE_CHECKING:
    import argparse


def report(args: argparse.Namespace) -> int:
    """Write the HTML report and print the gates' summary."""
    config = evidence_config(args)
    store = EvidenceStore(config.directory)
    key = Path(args.key) if args.key else config.key.with_suffix(".pub")
    verification = (
        verify_directory(config.directory, key=public_key(key)) if key.is_file() else None
    )
    data = gather(store, verification)
    output = Path(args.output) if args.output else config.directory / "report.html"
    write_report(data, output)
    table = Table("gate", "verdict", "passed", "warned", "failed", "review")
    for gate in GATES:
        stored = data.latest(gate)
        if stored is None:
            table.add_row(gate, styled("MISSING"), "", "", "", "-")
            continue
        review = stored.record["review"]
        counts = [
            str(sum(c["verdict"] == v for c in review["criteria"]))
            for v in ("PASSED", "WARNED", "FAILED")
        ]
        table.add_row(gate, styled(review["verdict"]), *counts, stored.name)
    out.print(table)
    for step_key in ("05", "06"):
        stored = data.latest(step_key)
        if stored is not None:
            body = stored.record.get("assessment") or stored.record["decision"]
            verdict = body.get("recommendation") or body["decision"]
            out.print(f"{stored.record['title']}: {styled(verdict)}")
    if verification is None:
        out.print("[yellow]not verified:[/] no public key found; pass --key")
    elif not verification.ok:
        out.print(f"[red]the evidence does not verify: {len(verification.problems)} problems[/]")
    out.print(f"report: {output}")
    return 0 if verification is None or verification.ok else 7


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``report``."""
    parser = verbs.add_parser(
        "report",
        help="write the E5 report: one self-contained HTML page",
        description="Writes a single HTML page (no external assets) with the gate "
        "dashboard, the decision, a timeline of every record, per-host tables and links "
        "to every evidence file, verifying the evidence first when the public key is "
        "found. Exit codes: 0 written, 7 written but the evidence does not verify.",
    )
    parser.add_argument("--output", help="where to write (default: EVIDENCE_DIR/report.html)")
    parser.add_argument("--key", help="public key to verify with (default: beside the signing key)")
    add_evidence_dir(parser)
    parser.set_defaults(func=report)
