"""The whole stack after one cold `e5ops pipeline` run: what the `stack` fixture yields."""

from __future__ import annotations

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from e5ops.evidence.store import EvidenceStore

if TYPE_CHECKING:
    from e5ops.evidence.keys import KeyPair
    from e5ops.lab import Lab

E5OPS = str(Path(sys.executable).parent / "e5ops")
DECISION = ("--approver", "CI Operator", "--decision", "authorize")

STACK_NAME, STACK_SUBNET = "stack", "10.231.92.0/24"


@dataclass
class Stack:
    """The whole stack on a lab of its own, after one cold `e5ops pipeline` run.

    ``cold`` is that run's process; ``evidence`` its evidence directory,
    signed with ``keys``; ``environ`` the environment it ran in, for the
    tests that run the pipeline again.
    """

    lab: Lab
    inventory: Path
    environ: dict[str, str]
    evidence: Path
    keys: KeyPair
    base: Path
    cold: subprocess.CompletedProcess
    seconds: float


def run_pipeline(
    project: Path, environ: dict[str, str], base: Path, *args: str, log: str
) -> tuple[subprocess.CompletedProcess, float]:
    """Run `e5ops pipeline ARGS` as a user does; keep its output in ``base/log``."""
    started = time.monotonic()
    done = subprocess.run(
        [E5OPS, "pipeline", *args],
        cwd=project,
        env=environ,
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.monotonic() - started
    (base / log).write_text(done.stdout + done.stderr, encoding="utf-8")
    return done, seconds


def runs(stack, step: str, playbook: str) -> list[dict]:
    """The ``run`` parts of step ``step``'s records of ``playbook``, oldest first."""
    return [
        r.record["run"]
        for r in EvidenceStore(stack.evidence).records()
        if r.name.startswith(f"{step}_")
        and "run" in r.record
        and r.record["run"]["playbook"].endswith(playbook)
    ]


def changed(run: dict) -> int:
    return sum(counts["changed"] for counts in run["hosts"].values())
