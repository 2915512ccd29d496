"""Runs cut short: SIGTERM, SIGINT and a killed controller leave an incomplete record.

No lab needed: the play runs on the controller and sleeps until it is stopped.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from e5ops.evidence import EvidenceStore, recover_stale, verify_directory
from e5ops.evidence.keys import create_key, load_signer, public_key

PLAYBOOK = "tests/integration/playbooks/evidence_slow.yml"


@pytest.fixture
def evidence(tmp_path):
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    env = {
        **os.environ,
        "E5OPS_EVIDENCE_KEY": str(keys.private),
        "E5OPS_EVIDENCE_DIR": str(tmp_path / "e5"),
        "ANSIBLE_CALLBACKS_ENABLED": "e5ops.production.evidence",
    }
    return tmp_path / "e5", keys, env


def _wait_for_first_result(directory, process):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        journals = list((directory / ".inflight").glob("*.jsonl"))
        if journals and len(journals[0].read_text().splitlines()) >= 2:
            return journals[0]
        assert process.poll() is None, "the play ended before it was interrupted"
        time.sleep(0.2)
    pytest.fail("the play never reported its first task")


def _start_plain(project, env, log):
    # Output goes to a file: a failure shows what ansible-playbook said.
    return subprocess.Popen(
        [str(project / ".venv/bin/ansible-playbook"), "-i", "localhost,", PLAYBOOK],
        cwd=project,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )


def _only_record(directory, keys):
    log = directory.parent / "ansible-playbook.log"
    said = log.read_text() if log.is_file() else ""
    report = verify_directory(directory, key=public_key(keys.public))
    assert report.ok, (report.problems, said)
    records = EvidenceStore(directory).records()
    assert len(records) == 1, said
    assert not list((directory / ".inflight").glob("*"))
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]
    return records[0].record


@pytest.mark.parametrize(
    ("signum", "reason"),
    [
        (signal.SIGTERM, "ansible-playbook received SIGTERM"),
        (signal.SIGINT, "ansible-playbook stopped before the run ended"),
    ],
)
def test_a_signalled_plain_run_leaves_an_incomplete_record(project, evidence, signum, reason):
    directory, keys, env = evidence
    log = directory.parent / "ansible-playbook.log"
    process = _start_plain(project, env, log)
    _wait_for_first_result(directory, process)
    process.send_signal(signum)
    process.wait(timeout=120)
    record = _only_record(directory, keys)
    assert record["complete"] is False, log.read_text()
    assert record["incomplete_reason"] == reason, log.read_text()
    assert record["run"]["status"] == "incomplete"
    assert [t["task"] for t in record["run"]["tasks"]] == ["Say the run has started"]


def test_a_killed_controller_is_recovered_as_incomplete(project, evidence):
    directory, keys, env = evidence
    process = _start_plain(project, env, directory.parent / "ansible-playbook.log")
    journal = _wait_for_first_result(directory, process)
    # SIGKILL leaves no chance to write anything. Ansible's workers run in
    # their own sessions; the sleeping one ends by itself within 30 s.
    process.kill()
    process.wait(timeout=30)
    assert journal.is_file()
    assert not list(directory.glob("*.dsse.json"))
    written = recover_stale(EvidenceStore(directory, signer=load_signer(keys.private)))
    assert len(written) == 1
    record = _only_record(directory, keys)
    assert record["complete"] is False
    assert f"process {process.pid} ended" in record["incomplete_reason"]
    assert record["run"]["tasks"][0]["task"] == "Say the run has started"


def test_a_terminated_runner_run_leaves_an_incomplete_record(project, evidence):
    directory, keys, env = evidence
    code = (
        "from pathlib import Path\n"
        "from e5ops.runner import run_playbook\n"
        "import sys\n"
        f"r = run_playbook(project=Path({str(project)!r}), playbook={PLAYBOOK!r},\n"
        "    inventory=Path(sys.argv[1]), record=True)\n"
        "print(r.status, r.complete)\n"
    )
    inventory = directory.parent / "hosts.ini"
    inventory.write_text("localhost\n")
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(inventory)],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for_first_result(directory, process)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stderr
    assert stdout.strip() == "canceled False"
    record = _only_record(directory, keys)
    assert record["complete"] is False
    assert record["incomplete_reason"] == "the run was cut short (SIGTERM)"
    assert record["recorder"]["path"] == "runner"
