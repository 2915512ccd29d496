"""Runbooks that cannot rot: every `sh` block of docs/runbooks/*.md runs against the lab.

The convention (docs/runbooks/README.md): each runbook names its shell
variables on a `Variables:` line; each ```sh block is a command sequence a
person types in order, in one shell, from the repository root. This test runs
every runbook's blocks, in order, in one bash process per runbook, against the
converged lab that the `stack` fixture (conftest.py) leaves after the
pipeline, and fails naming the runbook, the block and the command that failed.
Blocks marked `text` are not run; they say why.

The static test needs no lab; the lab test needs podman, runc and the lab
image, and fails without them.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

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


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[path.name for path in RUNBOOKS])
def test_runbook_declares_what_the_lab_test_provides(runbook):
    text = runbook.read_text(encoding="utf-8")
    if not commands(text):
        return
    declared = declared_variables(text)
    assert declared, f"{runbook.name}: has ```sh blocks but no 'Variables:' line"
    assert declared <= KNOWN, (
        f"{runbook.name}: declares {sorted(declared - KNOWN)}, which the lab test does not "
        f"set; use {sorted(KNOWN)} (docs/runbooks/README.md)"
    )
    used = set()
    for command in commands(text):
        used |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", command.text))
    assigned = {
        c.text.split("=", 1)[0] for c in commands(text) if re.match(r"[A-Z][A-Z0-9_]*=", c.text)
    }
    undeclared = used - declared - assigned - {"PWD", "HOME", "PATH"}
    assert not undeclared, f"{runbook.name}: commands use {sorted(undeclared)}, not declared"


def test_the_required_runbooks_are_there():
    names = {path.name for path in RUNBOOKS}
    assert {
        "deploy-and-rollback.md",
        "certificate-rotation.md",
        "restore-from-backup.md",
        "replace-a-host.md",
    } <= names


@pytest.mark.lab
@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[path.name for path in RUNBOOKS])
def test_runbook_commands_run_against_the_lab(stack, runbook, project):
    assert stack.cold.returncode == 0, "the pipeline did not converge the lab"
    if not commands(runbook.read_text(encoding="utf-8")):
        return
    hosts = stack.lab.config.inventory_dir / "hosts.yml"
    text = hosts.read_text(encoding="utf-8")

    def address(name: str) -> str:
        return re.search(rf"{name}:\n\s+ansible_host: (\S+)", text).group(1)

    with tempfile.TemporaryDirectory(prefix="e5ops-runbook-") as tmp:
        failed = Path(tmp) / "failed"
        env = {
            **os.environ,
            "PATH": f"{project / '.venv' / 'bin'}:{os.environ.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            # Runs of the runbooks are tests, not evidence of the project.
            "E5OPS_EVIDENCE_DIR": str(Path(tmp) / "evidence"),
            # Facts of this lab's hosts only: other labs have hosts of the same names.
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(Path(tmp) / "facts"),
            "E5OPS_LAB_SUBNET": stack.lab.config.subnet,
            "INVENTORY": str(hosts),
            "LAB": stack.lab.config.name,
            "HOST": "web1",
            "LB": address("lb1"),
            "MON": address("mon1"),
            "CA_HOST": "ca1",
        }
        started = time.monotonic()
        result = subprocess.run(
            ["bash", "-c", script(runbook, failed)],
            capture_output=True,
            text=True,
            cwd=project,
            env=env,
            timeout=TIMEOUT,
            check=False,
        )
        print(f"\n{runbook.name}: {time.monotonic() - started:.0f} s")  # noqa: T201 - the wall time
        if result.returncode != 0:
            where = failed.read_text().splitlines() if failed.exists() else ["?", "?", "?"]
            pytest.fail(
                f"{runbook.name}, block {where[0]} (line {where[1]}): command failed "
                f"(exit {result.returncode}):\n  {where[2]}\n--- output (tail) ---\n"
                + "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            )
