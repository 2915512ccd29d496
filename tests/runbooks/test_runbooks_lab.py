"""Runbooks that cannot rot: every `sh` block of docs/runbooks/*.md runs against the lab.

This test runs every runbook's blocks, in order, in one bash process per
runbook, against the converged lab of the `converged` fixture (conftest.py),
and fails naming the runbook, the block and the command that failed. It is
not part of `make test`, which it would take past CI's time: `make runbooks`
runs it. Needs podman, runc and the lab image, and fails without them.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from runbook import RUNBOOKS, TIMEOUT, commands, script

pytestmark = pytest.mark.lab


@pytest.mark.parametrize("runbook", RUNBOOKS, ids=[path.name for path in RUNBOOKS])
def test_runbook_commands_run_against_the_lab(converged, runbook, project):
    assert converged.first.ok, converged.first.failures
    if not commands(runbook.read_text(encoding="utf-8")):
        return
    hosts = converged.lab.config.inventory_dir / "hosts.yml"
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
            "E5OPS_LAB_SUBNET": converged.lab.config.subnet,
            "INVENTORY": str(hosts),
            "LAB": converged.lab.config.name,
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
