"""``e5ops lab``: build, start, show and remove the local lab."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import out
from e5ops.lab import DEFAULT_HOSTS, DEFAULT_LAB, Lab, LabConfig, parse_host_list
from e5ops.lab.image import build_image
from e5ops.project import find_project_root

if TYPE_CHECKING:
    import argparse


def _lab(args: argparse.Namespace) -> Lab:
    return Lab(LabConfig.from_env(find_project_root(), name=args.lab))


def build(args: argparse.Namespace) -> int:
    """Build the lab image, or find it cached."""
    result = build_image(_lab(args).podman, force=args.force)
    verb = "built" if result.built else "cached"
    out.print(f"image {result.ref} {verb} ({result.seconds:.1f}s)")
    return 0


def up(args: argparse.Namespace) -> int:
    """Start the lab's hosts and write its inventory."""
    names = parse_host_list(args.hosts) if args.hosts else DEFAULT_HOSTS
    result = _lab(args).up(names)
    for label, hosts in (
        ("created", result.created),
        ("started", result.started),
        ("repaired", result.repaired),
        ("unchanged", result.unchanged),
    ):
        if hosts:
            out.print(f"{label}: {', '.join(hosts)}")
    out.print(f"inventory: {result.inventory} ({result.seconds:.1f}s)")
    return 0


def down(args: argparse.Namespace) -> int:
    """Remove the lab's hosts and network; keep the image."""
    lab = _lab(args)
    removed = lab.down()
    if removed:
        out.print(f"removed: {', '.join(removed)}")
    else:
        out.print(f"lab {lab.config.name} is not up: nothing to remove")
    return 0


def status(args: argparse.Namespace) -> int:
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


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``lab`` and its sub-verbs."""
    lab = verbs.add_parser("lab", help="the local lab of Debian hosts")
    lab_verbs = lab.add_subparsers(dest="lab_verb", required=True)
    for name, func, text in (
        ("build", build, "build the host image (cached by recipe)"),
        ("up", up, "start the lab's hosts and write the inventory"),
        ("down", down, "remove the hosts and network, keep the image"),
        ("status", status, "show hosts, addresses and state"),
    ):
        sub = lab_verbs.add_parser(name, help=text)
        sub.add_argument("--lab", help=f"lab name (default: $E5OPS_LAB or {DEFAULT_LAB})")
        sub.set_defaults(func=func)
        if name == "up":
            default = ",".join(DEFAULT_HOSTS)
            sub.add_argument(
                "--hosts", help=f"hosts to start, e.g. lb1,web1-3 (default: {default})"
            )
        if name == "build":
            sub.add_argument("--force", action="store_true", help="rebuild even if cached")
