"""The README's main command on a lab of its own: bare hosts to a signed decision.

`e5ops pipeline` runs every E5 step against real lab hosts, with the decision
given on the command line as CI gives it. The run is made once for the session
by the `stack` fixture (conftest.py; it is the longest part of the suite); a
second invocation must find every stage done and touch nothing. The figures
the decision rests on are read back from the signed evidence.
"""

from __future__ import annotations

import re
import shlex
import struct
import subprocess
from pathlib import Path

import pytest
from labstack import DECISION, changed, run_pipeline, runs

from e5ops.evidence.steps import STEPS
from e5ops.evidence.store import EvidenceStore

pytestmark = pytest.mark.lab


def test_the_cold_run_ends_with_an_authorized_decision(stack):
    cold = stack.cold
    assert cold.returncode == 0, cold.stdout[-6000:] + cold.stderr[-3000:]
    assert "decision: AUTHORIZE by CI Operator" in cold.stdout


def test_all_eleven_evidence_files_are_there_and_verify(stack, project):
    cold = stack.cold
    assert cold.returncode == 0
    names = {p.name for p in stack.evidence.glob("*.dsse.json")}
    for step in STEPS:
        assert f"{step.stem}.dsse.json" in names, step.stem
    command = re.search(r"verify the evidence: (.+)", cold.stdout)
    assert command, cold.stdout[-2000:]
    argv = shlex.split(command.group(1))
    argv[-1] = str(stack.keys.public)  # the test's own key, where the printout names the default
    verify = subprocess.run(
        argv, cwd=project, env=stack.environ, capture_output=True, text=True, check=False
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "records verified" in verify.stdout


def test_every_gate_passed_on_measurements(stack):
    assert stack.cold.returncode == 0
    store = EvidenceStore(stack.evidence)
    for gate in ("01a", "02a", "03a", "04a"):
        review = store.latest(gate).record["review"]
        failed = [c for c in review["criteria"] if c["verdict"] != "PASSED"]
        assert review["verdict"] == "PASS", failed
        for criterion in review["criteria"]:
            assert criterion["evidence"], f"{gate} {criterion['id']} rests on no record"
    assessment = store.latest("05").record["assessment"]
    assert assessment["recommendation"] == "PROCEED"


def test_site_converged_and_the_drift_check_changes_nothing(stack):
    assert stack.cold.returncode == 0
    (first,) = runs(stack, "01", "playbooks/site.yml")
    assert first["status"] == "successful"
    assert changed(first) > 0
    (drift,) = runs(stack, "03", "playbooks/site.yml")
    assert drift["check"] is True
    assert drift["status"] == "successful"
    assert changed(drift) == 0, [t for t in drift["tasks"] if t.get("status") == "changed"]
    print(  # noqa: T201 - the figures for the log
        f"\nsite.yml: first {first['seconds']:.0f} s, --check after every step "
        f"{drift['seconds']:.0f} s"
    )


def test_the_report_is_rendered_by_headless_chromium(stack):
    cold = stack.cold
    assert cold.returncode == 0
    shown = re.search(r"report as rendered by headless Chromium: (\S+)", cold.stdout)
    assert shown, cold.stdout[-2000:]
    png = Path(shown.group(1)).read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (1280, 2200)


def test_a_second_run_finds_every_stage_done_and_records_nothing(stack, project):
    assert stack.cold.returncode == 0
    before = len(EvidenceStore(stack.evidence).records())
    again, seconds = run_pipeline(project, stack.environ, stack.base, *DECISION, log="again.log")
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    assert "every stage is done already" in again.stdout
    assert "decision: AUTHORIZE by CI Operator" in again.stdout
    assert len(EvidenceStore(stack.evidence).records()) == before
    print(f"second pipeline run: {seconds:.0f}s")  # noqa: T201 - wall time for the log
