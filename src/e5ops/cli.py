"""The ``e5ops`` command line: thin verbs over the library.

Only this module prints or exits. Every verb returns an exit code; errors of
the E5opsError family are caught once, here, and shown with their hint.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from e5ops import __version__
from e5ops.errors import E5opsError
from e5ops.lab import DEFAULT_HOSTS, Lab, LabConfig, parse_host_list
from e5ops.lab.image import build_image
from e5ops.project import find_project_root, state_dir
from e5ops.runner import default_inventory, run_playbook

log = logging.getLogger(__name__)
out = Console()
err = Console(stderr=True)

Verb = Callable[[argparse.Namespace], int]


def _lab(args: argparse.Namespace) -> Lab:
    return Lab(LabConfig.from_env(find_project_root(), name=args.lab))


def cmd_lab_build(args: argparse.Namespace) -> int:
    """Build the lab image, or find it cached."""
    lab = _lab(args)
    result = build_image(lab.podman, force=args.force)
    verb = "built" if result.built else "cached"
    out.print(f"image {result.ref} {verb} ({result.seconds:.1f}s)")
    return 0


def cmd_lab_up(args: argparse.Namespace) -> int:
    """Start the lab's hosts and write its inventory."""
    names = parse_host_list(args.hosts) if args.hosts else DEFAULT_HOSTS
    lab = _lab(args)
    result = lab.up(names)
    for label, hosts in (("created", result.created), ("started", result.started),
                         ("unchanged", result.unchanged)):  # fmt: skip
        if hosts:
            out.print(f"{label}: {', '.join(hosts)}")
    out.print(f"inventory: {result.inventory} ({result.seconds:.1f}s)")
    return 0


def cmd_lab_down(args: argparse.Namespace) -> int:
    """Remove the lab's hosts and network; keep the image."""
    removed = _lab(args).down()
    if removed:
        out.print(f"removed: {', '.join(removed)}")
    else:
        out.print(f"lab {args.lab or 'e5lab'} is not up: nothing to remove")
    return 0


def cmd_lab_status(args: argparse.Namespace) -> int:
    """Show each host of the lab, its address and state."""
    rows = _lab(args).status()
    if not rows:
        out.print("no lab hosts are up")
        return 0
    table = Table("host", "container", "address", "container state", "systemd")
    for row in rows:
        table.add_row(row.name, row.container, row.address, row.state, row.systemd)
    out.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Run one playbook through ansible-runner."""
    project = find_project_root()
    inventory = Path(args.inventory) if args.inventory else default_inventory(project)
    result = run_playbook(
        project=project,
        playbook=args.playbook,
        inventory=inventory,
        limit=args.limit,
        check=args.check,
        quiet=not args.verbose,
    )
    table = Table("host", "ok", "changed", "failed", "unreachable")
    for host, stats in result.hosts.items():
        table.add_row(host, str(stats.ok), str(stats.changed), str(stats.failures),
                      str(stats.unreachable))  # fmt: skip
    out.print(table)
    for failure in result.failures:
        what = "unreachable" if failure.unreachable else f"failed at {failure.task!r}"
        err.print(f"[red]{failure.host}[/] {what}: {failure.message}", highlight=False)
    out.print(f"{args.playbook}: {result.status} (rc {result.rc}, {result.seconds:.1f}s)")
    return 0 if result.ok else 1


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``e5ops`` command."""
    parser = argparse.ArgumentParser(prog="e5ops", description=__doc__)
    parser.add_argument("--version", action="version", version=f"e5ops {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="more output on stderr (-vv for debug)")  # fmt: skip
    verbs = parser.add_subparsers(dest="verb", required=True)

    lab = verbs.add_parser("lab", help="the local lab of Debian hosts")
    lab_verbs = lab.add_subparsers(dest="lab_verb", required=True)
    for name, func, text in (
        ("build", cmd_lab_build, "build the host image (cached by recipe)"),
        ("up", cmd_lab_up, "start the lab's hosts and write the inventory"),
        ("down", cmd_lab_down, "remove the hosts and network, keep the image"),
        ("status", cmd_lab_status, "show hosts, addresses and state"),
    ):
        sub = lab_verbs.add_parser(name, help=text)
        sub.add_argument("--lab", help="lab name (default: $E5OPS_LAB or e5lab)")
        sub.set_defaults(func=func)
        if name == "up":
            sub.add_argument("--hosts", help="hosts to start, e.g. lb1,web1-3 "
                             f"(default: {','.join(DEFAULT_HOSTS)})")  # fmt: skip
        if name == "build":
            sub.add_argument("--force", action="store_true", help="rebuild even if cached")

    run = verbs.add_parser("run", help="run one playbook through ansible-runner")
    run.add_argument("playbook", help="path relative to the project, e.g. playbooks/site.yml")
    run.add_argument("-i", "--inventory", help="inventory (default: the lab's)")
    run.add_argument("--limit", help="hosts or groups to limit the run to")
    run.add_argument("--check", action="store_true", help="check mode with diff")
    run.set_defaults(func=cmd_run)
    return parser


def _setup_logging(verbosity: int) -> None:
    root = logging.getLogger("e5ops")
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.WARNING - 10 * min(verbosity, 2))
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(console)
    try:
        logs = state_dir(find_project_root()) / "logs"
    except E5opsError:
        return
    logs.mkdir(exist_ok=True)
    debug = logging.FileHandler(logs / "e5ops.log", encoding="utf-8")
    debug.setLevel(logging.DEBUG)
    debug.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root.addHandler(debug)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return its exit code."""
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    func: Verb = args.func
    try:
        return func(args)
    except E5opsError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
