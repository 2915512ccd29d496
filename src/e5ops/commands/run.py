"""``e5ops run``: one playbook through ansible-runner, with each host's recap."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import err, out
from e5ops.commands._progress import RunProgress
from e5ops.project import find_project_root
from e5ops.runner import default_inventory, run_playbook

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace) -> int:
    """Run one playbook and print each host's recap and every failure."""
    project = find_project_root()
    inventory = Path(args.inventory) if args.inventory else default_inventory(project)
    with RunProgress(err, args.playbook) as progress:
        result = run_playbook(
            project=project,
            playbook=args.playbook,
            inventory=inventory,
            limit=args.limit,
            tags=args.tags,
            check=args.check,
            quiet=args.verbose == 0,
            step=args.step,
            record=False if args.no_record else None,
            evidence_dir=Path(args.evidence_dir) if args.evidence_dir else None,
            artifacts=[Path(a) for a in args.artifact],
            observer=progress,
            streaming=args.streaming,
        )
    table = Table("host", "ok", "changed", "failed", "unreachable")
    for host, stats in result.hosts.items():
        table.add_row(
            host, str(stats.ok), str(stats.changed), str(stats.failures), str(stats.unreachable)
        )
    out.print(table)
    for failure in result.failures:
        what = "unreachable" if failure.unreachable else f"failed at {failure.task!r}"
        err.print(
            f"[red]{failure.host}[/] {what}: {failure.message}", highlight=False, soft_wrap=True
        )
    out.print(f"{args.playbook}: {result.status} (rc {result.rc}, {result.seconds:.1f}s)")
    if result.evidence:
        out.print(f"evidence: {result.evidence}")
    if not result.complete:
        err.print("[red]the run was cut short[/]: its record is marked incomplete")
        return 130
    return 0 if result.ok else 1


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    parser = verbs.add_parser(
        "run",
        help="run one playbook through ansible-runner and record it as evidence",
        description="Runs a playbook, shows its progress on a terminal, prints each host's "
        "recap and writes a signed evidence record (when the signing key exists). "
        "Exit codes: 0 the run succeeded, 1 it failed on some host, 2 wrong usage, "
        "5 the run could not start, 6 the evidence could not be written, "
        "130 the run was interrupted (recorded as incomplete).",
    )
    parser.add_argument("playbook", help="path relative to the project, e.g. playbooks/site.yml")
    parser.add_argument("-i", "--inventory", help="inventory (default: the lab's)")
    parser.add_argument("--limit", help="hosts or groups to limit the run to")
    parser.add_argument("--check", action="store_true", help="check mode with diff")
    parser.add_argument("--tags", help="only tasks with these tags (comma-separated)")
    parser.add_argument("--step", help="the E5 step this run is an attempt at: 01, 02, 03 or 04")
    parser.add_argument("--evidence-dir", help="where to record (default: evidence/e5)")
    parser.add_argument(
        "--artifact",
        action="append",
        default=[],
        help="a release artifact the run deploys; its sha256 becomes a subject (repeatable)",
    )
    parser.add_argument("--no-record", action="store_true", help="write no evidence record")
    parser.add_argument(
        "--streaming",
        action="store_true",
        help="send the job through ansible-runner's transmit / worker / process streaming, "
        "as AWX execution nodes run it",
    )
    parser.set_defaults(func=run)
