"""``e5ops docs``: render each role README's variables from its argument specs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from e5ops.commands._console import err, out
from e5ops.project import find_project_root
from e5ops.roledocs import update_all

if TYPE_CHECKING:
    import argparse


def docs(args: argparse.Namespace) -> int:
    """Render, or with --check compare, every role's variable table."""
    results = update_all(find_project_root(), check=args.check)
    stale = [r for r in results if not r.up_to_date]
    for result in results:
        state = "up to date" if result.up_to_date else ("stale" if args.check else "rendered")
        out.print(f"{result.role}: {state}")
    if args.check and stale:
        names = ", ".join(r.role for r in stale)
        err.print(f"out of date: {names}; run `e5ops docs` and commit the READMEs")
        return 1
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``docs``."""
    parser = verbs.add_parser("docs", help="render role READMEs from their argument specs")
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 if stale")
    parser.set_defaults(func=docs)
