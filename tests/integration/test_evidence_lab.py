"""A real play against two lab hosts over SSH, recorded through both paths.

Needs podman, runc and the lab image (`make test` installs and builds them);
without them the test fails, it does not skip.
"""

import os
import subprocess

import pytest

from e5ops.evidence import EvidenceStore, verify_directory
from e5ops.evidence.keys import create_key, public_key
from e5ops.lab import Lab, LabConfig
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "tests/integration/playbooks/evidence_lab.yml"
CANARY = b"CANARY-lab-0c4e7d19"


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name="ev-t", subnet="10.231.46.0/24"))
    lab.down()
    yield lab
    lab.down()


def _comparable(record):
    run = record["run"]
    tasks = sorted(
        (t["host"], t["task"], t["status"], t["changed"], t["no_log"]) for t in run["tasks"]
    )
    return run["status"], run["rc"], run["hosts"], run["published"], tasks, record["subjects"]


def test_a_lab_play_is_recorded_the_same_through_both_paths(lab, project, tmp_path, monkeypatch):
    inventory = lab.up(("web1", "web2")).inventory
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    monkeypatch.setenv("E5OPS_EVIDENCE_KEY", str(keys.private))
    monkeypatch.setenv("E5OPS_EVIDENCE_DIR", str(tmp_path / "e5"))

    result = run_playbook(
        project=project, playbook=PLAYBOOK, inventory=inventory, step="01", record=True
    )
    assert result.ok, result.failures
    plain = subprocess.run(
        [str(project / ".venv/bin/ansible-playbook"), "-i", str(inventory), PLAYBOOK],
        cwd=project,
        env={
            **os.environ,
            "ANSIBLE_CALLBACKS_ENABLED": "e5ops.production.evidence",
            "E5OPS_EVIDENCE_STEP": "01",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr

    records = EvidenceStore(tmp_path / "e5").records()
    assert [r.name for r in records] == [
        "01_production_deployment_automation",
        "01_production_deployment_automation.attempt-2",
    ]
    runner, callback = (r.record for r in records)
    assert _comparable(runner) == _comparable(callback)
    assert set(runner["run"]["hosts"]) == {"web1", "web2"}
    assert runner["run"]["published"] == {"lab_release_present": True}
    assert runner["run"]["hosts"]["web1"]["changed"] == 1
    assert verify_directory(tmp_path / "e5", key=public_key(keys.public)).ok
    for path in (tmp_path / "e5").rglob("*"):
        if path.is_file():
            assert CANARY not in path.read_bytes(), path
