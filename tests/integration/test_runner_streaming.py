"""A play run through ansible-runner's streaming (transmit, worker, process), as
AWX's execution nodes run it, is recorded as a direct run is.

One real lab host over SSH (the shared lab); the worker is a separate
``ansible-runner worker`` process fed through pipes.
"""

import pytest

from e5ops.evidence import EvidenceStore, verify_directory
from e5ops.evidence.keys import create_key, public_key
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

PLAYBOOK = "tests/integration/playbooks/evidence_lab.yml"
CANARY = b"CANARY-lab-0c4e7d19"
# A throwaway value that must travel inside the stream and never reach a file.
EXTRA_PASSWORD = "streamed-extra-password-5b1e"  # noqa: S105 - a test canary


def _comparable(record):
    run = record["run"]
    tasks = [
        (t["host"], t["task"], t["action"], t["status"], t["changed"], t["no_log"])
        for t in run["tasks"]
    ]
    return {
        "step": record["step"],
        "status": run["status"],
        "rc": run["rc"],
        "hosts": run["hosts"],
        "published": run["published"],
        "tasks": tasks,
        "subjects": record["subjects"],
        "playbook": run["playbook"],
        "inventory": run["inventory"],
        "check": run["check"],
    }


def test_a_streamed_run_is_recorded_as_a_direct_one(shared_lab, project, tmp_path, monkeypatch):
    inventory = shared_lab.config.inventory_dir / "hosts.yml"
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    monkeypatch.setenv("E5OPS_EVIDENCE_KEY", str(keys.private))
    monkeypatch.setenv("E5OPS_EVIDENCE_DIR", str(tmp_path / "e5"))
    seen = []
    results = [
        run_playbook(
            project=project,
            playbook=PLAYBOOK,
            inventory=inventory,
            extravars={"evidence_extra_password": EXTRA_PASSWORD},
            step="01",
            record=True,
            streaming=streaming,
            observer=seen.append if streaming else None,
        )
        for streaming in (False, True)
    ]
    for result in results:
        assert result.ok, result.failures
    direct, streamed = results
    assert streamed.hosts == direct.hosts
    assert streamed.published == direct.published == {"lab_release_present": True}
    # Events reached the observer while the worker ran, one result per task.
    assert [e.name for e in seen if e.kind == "result"] == [t.task for t in streamed.tasks]

    records = EvidenceStore(tmp_path / "e5").records()
    assert [r.name for r in records] == [
        "01_production_deployment_automation",
        "01_production_deployment_automation.attempt-2",
    ]
    first, second = (r.record for r in records)
    assert _comparable(first) == _comparable(second)
    assert second["run"]["hosts"]["web1"]["changed"] == 1
    assert verify_directory(tmp_path / "e5", key=public_key(keys.public)).ok
    for directory in (tmp_path / "e5", streamed.artifact_dir):
        for path in directory.rglob("*"):
            if path.is_file():
                body = path.read_bytes()
                assert CANARY not in body, path
                assert EXTRA_PASSWORD.encode() not in body, path


def test_a_streamed_run_that_cannot_target_a_host_fails_like_a_direct_one(shared_lab, project):
    inventory = shared_lab.config.inventory_dir / "hosts.yml"
    results = [
        run_playbook(
            project=project,
            playbook=PLAYBOOK,
            inventory=inventory,
            limit="no-such-host",
            record=False,
            streaming=streaming,
        )
        for streaming in (False, True)
    ]
    direct, streamed = results
    assert not direct.ok
    assert (streamed.status, streamed.rc, streamed.hosts) == (
        direct.status,
        direct.rc,
        direct.hosts,
    )


def test_a_streamed_run_leaves_no_secret_in_its_artifacts(project, tmp_path):
    # A local play that prints the extra variable: the worker's raw output
    # must not come back in the artifacts, only the redacted events.
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "all:\n  children:\n    evidence_local:\n      hosts:\n        local1:\n"
        "  vars:\n    evidence_canary: CANARY-nolog-streamed\n"
        "    evidence_vault_canary: not-a-vault-value\n"
    )
    result = run_playbook(
        project=project,
        playbook="tests/integration/playbooks/evidence_local.yml",
        inventory=inventory,
        extravars={"evidence_extra_password": EXTRA_PASSWORD},
        record=False,
        streaming=True,
    )
    assert result.ok, result.failures
    assert result.artifact_dir
    assert any(result.artifact_dir.glob("job_events/*.json"))
    for path in result.artifact_dir.rglob("*"):
        if path.is_file():
            body = path.read_bytes()
            assert EXTRA_PASSWORD.encode() not in body, path
            assert b"CANARY-nolog-streamed" not in body, path
