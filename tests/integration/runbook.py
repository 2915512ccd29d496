"""Reading docs/runbooks/*.md as the runbook tests do: variables, commands, one script each.

The convention (docs/runbooks/README.md): each runbook names its shell
variables on a `Variables:` line; each ```sh block is a command sequence a
person types in order, in one shell, from the repository root. Blocks marked
`text` are not run; they say why.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
RUNBOOKS = sorted((PROJECT / "docs" / "runbooks").glob("*.md"))
# The variables the lab test sets, as docs/runbooks/README.md lists them.
KNOWN = {"INVENTORY", "LAB", "HOST", "LB", "MON", "CA_HOST"}
TIMEOUT = 3600


@dataclass(frozen=True)
class Command:
    block: int
    line: int
    text: str


def declared_variables(text: str) -> set[str]:
    match = re.search(r"^Variables:(.*)$", text, re.MULTILINE)
    return set(re.findall(r"`([A-Z][A-Z0-9_]*)`", match.group(1))) if match else set()


def commands(text: str) -> list[Command]:
    """Return the commands of the ```sh blocks, continuation lines joined, comments left out."""
    found: list[Command] = []
    block, inside, pending, start = 0, False, "", 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not inside:
            if line.strip() == "```sh":
                block, inside = block + 1, True
            continue
        if line.strip() == "```":
            inside = False
            continue
        if not pending:
            start = number
            if not line.strip() or line.lstrip().startswith("#"):
                continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        found.append(Command(block=block, line=start, text=(pending + line).strip()))
        pending = ""
    return found


def script(runbook: Path, failed: Path) -> str:
    """One bash script running the runbook's commands, recording the one that fails."""
    lines = [
        "set -eo pipefail",
        f"rb_failed={shlex.quote(str(failed))}",
        'trap \'printf "%s\\n%s\\n%s\\n" "$rb_block" "$rb_line" "$rb_command" > "$rb_failed"\' ERR',
    ]
    for command in commands(runbook.read_text(encoding="utf-8")):
        quoted = shlex.quote(command.text)
        lines.append(f"rb_block={command.block} rb_line={command.line} rb_command={quoted}")
        lines.append(f"echo {shlex.quote('$ ' + command.text)}")
        lines.append(command.text)
    return "\n".join(lines) + "\n"
