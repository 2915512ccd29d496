"""The same local play recorded through e5ops.runner and through plain ansible-playbook.

No lab needed: the play runs on the controller (``connection: local``). It
plants three canaries: a value read by a ``no_log`` task, a vault-encrypted
variable printed by a debug task, and a password given as an extra variable
(runner path) that a debug task prints. None may appear in any file e5ops
writes, ansible-runner's artifacts of the run included.
"""

import json
import os
import subprocess

import pytest

from e5ops.evidence import EvidenceStore, verify_directory
from e5ops.evidence.keys import create_key, public_key
from e5ops.evidence.schema import validate_record
from e5ops.runner import run_playbook

PLAYBOOK = "tests/integration/playbooks/evidence_local.yml"
NO_LOG_CANARY = "CANARY-nolog-7f3a91c2"
VAULT_CANARY = "CANARY-vault-55e1d0b7"
EXTRA_CANARY = "CANARY-extra-9b2f4a60"


@pytest.fixture(scope="module")
def setup(project, tmp_path_factory):
    base = tmp_path_factory.mktemp("evidence-paths")
    password = base / "vault-password"
    password.write_text("vault-test-password\n")
    encrypted = subprocess.run(
        [
            str(project / ".venv/bin/ansible-vault"),
            "encrypt_string",
            "--vault-password-file",
            str(password),
            "--name",
            "evidence_vault_canary",
            VAULT_CANARY,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    inventory = base / "hosts.yml"
    vaulted = "".join(f"    {line}\n" for line in encrypted.splitlines())
    inventory.write_text(
        "all:\n  children:\n    evidence_local:\n      hosts:\n        local1:\n        local2:\n"
        f"  vars:\n    evidence_canary: {NO_LOG_CANARY}\n{vaulted}"
    )
    keys = create_key(private=base / "keys" / "evidence.key")
    env = {
        "E5OPS_EVIDENCE_KEY": str(keys.private),
        "E5OPS_EVIDENCE_DIR": str(base / "e5"),
        "ANSIBLE_VAULT_PASSWORD_FILE": str(password),
    }
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    yield base, inventory, keys
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="module")
def both_runs(setup, project):
    _, inventory, _ = setup
    result = run_playbook(
        project=project,
        playbook=PLAYBOOK,
        inventory=inventory,
        record=True,
        extravars={"evidence_extra_password": EXTRA_CANARY},
    )
    plain = subprocess.run(
        [str(project / ".venv/bin/ansible-playbook"), "-i", str(inventory), PLAYBOOK],
        cwd=project,
        env={**os.environ, "ANSIBLE_CALLBACKS_ENABLED": "e5ops.production.evidence"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout + plain.stderr
    return result, plain


def _normalised(record):
    record = json.loads(json.dumps(record))
    for key in ("name", "attempt", "sequence", "previous", "created", "recorder"):
        record.pop(key)
    run = record["run"]
    for key in ("started", "ended", "seconds"):
        run.pop(key)
    for task in run["tasks"]:
        for key in ("started", "ended", "seconds"):
            task.pop(key)
    run["tasks"].sort(key=lambda t: (t["task"], t["host"]))
    return record


def test_the_runner_returns_a_typed_result(both_runs):
    result, _ = both_runs
    assert result.ok
    assert result.complete
    assert result.evidence is not None
    assert result.evidence.name == "run_evidence_local.dsse.json"
    assert set(result.hosts) == {"local1", "local2"}
    assert result.hosts["local1"].ignored == 1
    statuses = {(t.task, t.host): t.status for t in result.tasks}
    assert statuses[("Change something", "local2")] == "changed"
    assert statuses[("Skip a task", "local1")] == "skipped"
    assert statuses[("Fail and carry on", "local1")] == "failed"
    assert all(t.seconds >= 0 and t.started and t.ended for t in result.tasks)
    assert result.published == {"tls_grade": "A+", "failed_requests": 0, "api_token": "<redacted>"}


@pytest.mark.usefixtures("both_runs")
def test_both_paths_write_the_same_record(setup):
    base, _, keys = setup
    records = EvidenceStore(base / "e5").records()
    assert [r.name for r in records] == ["run_evidence_local", "run_evidence_local.attempt-2"]
    runner, callback = (r.record for r in records)
    assert runner["recorder"]["path"] == "runner"
    assert callback["recorder"]["path"] == "callback"
    for record in (runner, callback):
        validate_record(record)
    assert _normalised(runner) == _normalised(callback)
    assert len(runner["run"]["tasks"]) == 13
    report = verify_directory(base / "e5", key=public_key(keys.public))
    assert report.ok, report.problems


@pytest.mark.usefixtures("both_runs")
def test_no_log_task_keeps_nothing_but_its_status(setup):
    base, _, _ = setup
    for stored in EvidenceStore(base / "e5").records():
        secret_task = [
            t for t in stored.record["run"]["tasks"] if t["task"].startswith("Read the canary")
        ]
        assert {t["no_log"] for t in secret_task} == {True}
        assert {t["status"] for t in secret_task} == {"ok"}


def test_canaries_appear_in_no_file_written(both_runs, setup, project):
    result, plain = both_runs
    base, _, _ = setup
    assert NO_LOG_CANARY not in plain.stdout
    searched = [
        *(p for p in (base / "e5").rglob("*") if p.is_file()),
        *(p for p in result.artifact_dir.rglob("*") if p.is_file()),
        *(p for p in (project / ".e5ops" / "logs").rglob("*") if p.is_file()),
    ]
    assert len(searched) > 6
    for path in searched:
        data = path.read_bytes()
        assert NO_LOG_CANARY.encode() not in data, path
        assert VAULT_CANARY.encode() not in data, path
        assert EXTRA_CANARY.encode() not in data, path
    # The secrets did reach the plays' output: the redaction had work to do.
    assert VAULT_CANARY in plain.stdout
    events = b"".join(p.read_bytes() for p in (result.artifact_dir / "job_events").iterdir())
    assert b"logging in with <redacted>" in events
    assert b"connecting with <redacted>" in events
