"""The README's main command on a lab of its own: bare hosts to a signed decision.

`e5ops pipeline` runs every E5 step against real lab hosts, with the decision
given on the command line as CI gives it. The run is made once for the module
(it is the longest test of the suite); a second invocation must find every
stage done and touch nothing.
"""

from __future__ import annotations

import os
import re
import shlex
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e5ops.evidence.keys import create_key
from e5ops.evidence.steps import STEPS
from e5ops.evidence.store import EvidenceStore
from e5ops.lab import Lab, LabConfig

LAB = "pipe"
SUBNET = "10.231.91.0/24"
E5OPS = str(Path(sys.executable).parent / "e5ops")


@pytest.fixture(scope="module")
def env(project, tmp_path_factory):
    base = tmp_path_factory.mktemp("pipeline")
    keys = create_key(private=base / "keys" / "evidence.key")
    environ = os.environ | {
        "E5OPS_LAB": LAB,
        "E5OPS_LAB_SUBNET": SUBNET,
        "E5OPS_EVIDENCE_KEY": str(keys.private),
        "E5OPS_EVIDENCE_DIR": str(base / "e5"),
        "COLUMNS": "200",
    }
    lab = Lab(LabConfig(project=project, name=LAB, subnet=SUBNET))
    lab.down()
    yield {"environ": environ, "dir": base / "e5", "keys": keys, "base": base}
    lab.down()


def pipeline(project, env, *args: str, log: str) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    done = subprocess.run(
        [E5OPS, "pipeline", *args],
        cwd=project,
        env=env["environ"],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    seconds = time.monotonic() - started
    (env["base"] / log).write_text(done.stdout + done.stderr, encoding="utf-8")
    return done, seconds


@pytest.fixture(scope="module")
def cold(project, env):
    done, seconds = pipeline(
        project, env, "--approver", "CI Operator", "--decision", "authorize", log="cold.log"
    )
    print(f"cold pipeline: {seconds:.0f}s, rc {done.returncode}")  # noqa: T201 - wall time for the log
    return done


def test_the_cold_run_ends_with_an_authorized_decision(cold):
    assert cold.returncode == 0, cold.stdout[-6000:] + cold.stderr[-3000:]
    assert "decision: AUTHORIZE by CI Operator" in cold.stdout


def test_all_eleven_evidence_files_are_there_and_verify(cold, env, project):
    assert cold.returncode == 0
    names = {p.name for p in env["dir"].glob("*.dsse.json")}
    for step in STEPS:
        assert f"{step.stem}.dsse.json" in names, step.stem
    command = re.search(r"verify the evidence: (.+)", cold.stdout)
    assert command, cold.stdout[-2000:]
    argv = shlex.split(command.group(1))
    argv[-1] = str(env["keys"].public)  # the test's own key, where the printout names the default
    verify = subprocess.run(
        argv, cwd=project, env=env["environ"], capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "records verified" in verify.stdout


def test_every_gate_passed_on_measurements(cold, env):
    assert cold.returncode == 0
    store = EvidenceStore(env["dir"])
    for gate in ("01a", "02a", "03a", "04a"):
        review = store.latest(gate).record["review"]
        failed = [c for c in review["criteria"] if c["verdict"] != "PASSED"]
        assert review["verdict"] == "PASS", failed
        for criterion in review["criteria"]:
            assert criterion["evidence"], f"{gate} {criterion['id']} rests on no record"
    assessment = store.latest("05").record["assessment"]
    assert assessment["recommendation"] == "PROCEED"


def test_the_report_is_rendered_by_headless_chromium(cold):
    assert cold.returncode == 0
    shown = re.search(r"report as rendered by headless Chromium: (\S+)", cold.stdout)
    assert shown, cold.stdout[-2000:]
    png = Path(shown.group(1)).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 2200)


def test_a_second_run_finds_every_stage_done_and_records_nothing(cold, env, project):
    assert cold.returncode == 0
    before = len(EvidenceStore(env["dir"]).records())
    again, seconds = pipeline(
        project, env, "--approver", "CI Operator", "--decision", "authorize", log="again.log"
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert "every stage is done already" in again.stdout
    assert "decision: AUTHORIZE by CI Operator" in again.stdout
    assert len(EvidenceStore(env["dir"]).records()) == before
    print(f"second pipeline run: {seconds:.0f}s")  # noqa: T201 - wall time for the log
