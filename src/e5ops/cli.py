"""The ``e5ops`` command line: thin verbs over the library.

Only this module and ``e5ops.commands`` print or exit. Every verb returns an
exit code; errors of the E5opsError family are caught once, here, and shown
with their hint.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Callable, Sequence

from e5ops import __version__, commands
from e5ops.commands._console import err
from e5ops.errors import E5opsError
from e5ops.project import find_project_root, state_dir

Verb = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser, with a verb for each module of ``e5ops.commands``."""
    parser = argparse.ArgumentParser(
        prog="e5ops", description="Take a service to production and prove it."
    )
    parser.add_argument("--version", action="version", version=f"e5ops {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more output (-vv for debug)"
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    for module in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if not module.name.startswith("_"):
            importlib.import_module(f"e5ops.commands.{module.name}").register(verbs)
    return parser


def _setup_logging(verbosity: int) -> None:
    """Send warnings (or more, with -v) to stderr and everything to the debug log."""
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
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False, soft_wrap=True)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
