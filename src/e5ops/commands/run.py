"""``e5ops run``: one playbook through ansible-runner, with each host's recap."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import err, out
from e5ops.project import find_project_root
from e5ops.runner import default_inventory, run_playbook

if TYPE_CHECKING:
    import argparse


def run(args: argparse.Namespace) -> int:
    """Run one playbook and print each host's recap and every failure."""
    project = find_project_root()
    inventory = Path(args.inventory) if args.inventory else default_inventory(project)
    result = run_playbook(
        project=project,
        playbook=args.playbook,
        inventory=inventory,
        limit=args.limit,
        check=args.check,
        quiet=args.verbose == 0,
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
    return 0 if result.ok else 1


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``run``."""
    parser = verbs.add_parser("run", help="run one playbook through ansible-runner")
    parser.add_argument("playbook", help="path relative to the project, e.g. playbooks/site.yml")
    parser.add_argument("-i", "--inventory", help="inventory (default: the lab's)")
    parser.add_argument("--limit", help="hosts or groups to limit the run to")
    parser.add_argument("--check", action="store_true", help="check mode with diff")
    parser.set_defaults(func=run)
