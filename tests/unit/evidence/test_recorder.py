import json
from pathlib import Path

from e5ops.evidence import RunRecorder, step
from e5ops.evidence.recorder import recover_stale
from e5ops.evidence.redact import Redactor


def recorder(store, **kwargs):
    return RunRecorder(
        step=step("01"),
        playbook="playbooks/deploy.yml",
        inventory="inventories/lab",
        limit=None,
        tags=None,
        check=False,
        recorder="runner",
        subjects=[],
        store=store,
        **kwargs,
    )


def ok(rec, host, task, result=None, status="ok", **kwargs):
    return rec.task_result(
        host=host,
        task=task,
        play="Deploy",
        action="ansible.builtin.command",
        status=status,
        result=result or {},
        started="2026-01-01T00:00:00+00:00",
        ended="2026-01-01T00:00:01.500000+00:00",
        **kwargs,
    )


def test_results_are_normalised_and_journalled(store):
    rec = recorder(store)
    changed = ok(rec, "web1", "Deploy", {"changed": True})
    failed = ok(rec, "web2", "Deploy", {"msg": "disk full"}, status="failed", ignored=True)
    assert (changed.status, changed.changed, changed.seconds) == ("changed", True, 1.5)
    assert (failed.status, failed.ignored, failed.message) == ("failed", True, "disk full")
    journal = next((store.directory / ".inflight").glob("*.jsonl"))
    lines = journal.read_text().splitlines()
    assert json.loads(lines[0])["playbook"] == "playbooks/deploy.yml"
    assert len(lines) == 3
    assert rec.hosts_from_tasks()["web2"]["ignored"] == 1
    stored = rec.finish(hosts=rec.hosts_from_tasks(), published={"tls_grade": "A"}, rc=0)
    assert stored.record["run"]["status"] == "successful"
    assert stored.record["run"]["published"] == {"tls_grade": "A"}
    assert not journal.exists()
    # A second ending writes nothing more.
    assert rec.abort("late") is None


def test_a_no_log_failure_keeps_no_message_and_secrets_stay_out(store):
    redactor = Redactor()
    redactor.add_secret("hunter2-secret")
    rec = recorder(store, redactor=redactor)
    ok(rec, "web1", "Log in", {"censored": "hidden", "msg": "hunter2-secret"}, status="failed")
    ok(rec, "web1", "Echo hunter2-secret", {"msg": "user hunter2-secret rejected"}, status="failed")
    stored = rec.abort("stopped")
    text = b"".join(p.read_bytes() for p in stored.files)
    assert b"hunter2-secret" not in text
    tasks = stored.record["run"]["tasks"]
    assert tasks[0]["no_log"] is True
    assert "message" not in tasks[0]
    assert tasks[1]["message"] == "user <redacted> rejected"
    assert stored.record["complete"] is False
    assert stored.record["incomplete_reason"] == "stopped"


def test_a_dead_controllers_journal_becomes_an_incomplete_record(store):
    rec = recorder(store)
    ok(rec, "web1", "First")
    journal = next((store.directory / ".inflight").glob("*.jsonl"))
    # Pretend the writer died: a process id above the kernel's maximum, which no
    # process can have, and a last line cut in half.
    header = json.loads(journal.read_text().splitlines()[0])
    header["pid"] = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    body = journal.read_text().splitlines()[1:]
    journal.write_text("\n".join([json.dumps(header), *body, '{"task": {"host": "we']) + "\n")
    written = recover_stale(store)
    assert len(written) == 1
    record = written[0].record
    assert record["complete"] is False
    assert [t["task"] for t in record["run"]["tasks"]] == ["First"]
    assert not list((store.directory / ".inflight").iterdir())


def test_a_live_controllers_journal_is_left_alone(store):
    rec = recorder(store)
    ok(rec, "web1", "First")
    assert recover_stale(store) == []
    assert rec.finish(hosts=rec.hosts_from_tasks(), published={}, rc=0) is not None
