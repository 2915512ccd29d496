"""Step planning, gate evaluation, release checks and the rollout's state machine.

Gates are evaluated against real HTTP servers on loopback. The state machine
tests replace ansible-runner with a recorder of the playbooks it was asked to
run; the real playbooks run in tests/integration/test_deploy.py.
"""

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import ClassVar

import pytest

from e5ops.cli import main
from e5ops.errors import UsageError
from e5ops.rollout import (
    Gate,
    Rollout,
    RolloutError,
    evaluate_gate,
    find_release,
    load_state,
    parse_gate,
    parse_steps,
    plan_steps,
    request_pause,
    start_rollout,
)

HOSTS = tuple(f"web{n}" for n in range(1, 9))


# Steps


@pytest.mark.parametrize(
    ("hosts", "steps", "expected"),
    [
        (HOSTS, "1,25%,100%", [["web1"], ["web2"], list(HOSTS[2:])]),
        (HOSTS, "1,50%,100%", [["web1"], ["web2", "web3", "web4"], list(HOSTS[4:])]),
        (HOSTS[:3], "1,25%,100%", [["web1"], ["web2", "web3"]]),
        (HOSTS[:3], "100%", [list(HOSTS[:3])]),
        (HOSTS[:1], "1,100%", [["web1"]]),
        (HOSTS[:4], "1,2,100%", [["web1"], ["web2"], ["web3", "web4"]]),
        (HOSTS[:3], " 1 , 3 ", [["web1"], ["web2", "web3"]]),
    ],
)
def test_steps_move_every_host_once_in_order(hosts, steps, expected):
    planned = plan_steps(hosts=hosts, steps=parse_steps(steps))
    assert [list(step.hosts) for step in planned] == expected
    assert planned[-1].total == len(hosts)
    moved = [host for step in planned for host in step.hosts]
    assert moved == list(hosts)


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ("0%,100%", "above 0%"),
        ("1,150%", "at most 100%"),
        ("50%,25%,100%", "not increasing"),
        ("2,1,100%", "not increasing"),
        ("1,1,100%", "not increasing"),
        ("50%,1,100%", "not increasing"),
        ("0,100%", "moves no host"),
        ("1,9", "asks for 9 hosts"),
        ("1,50%", "ends at 4 of 8"),
        ("1,half", "neither a number"),
        (",", "empty step list"),
    ],
)
def test_bad_step_lists_are_refused(steps, message):
    with pytest.raises(UsageError, match=message):
        plan_steps(hosts=HOSTS, steps=parse_steps(steps))


def test_empty_group_is_refused():
    with pytest.raises(UsageError, match="no hosts"):
        plan_steps(hosts=(), steps=("100%",))


# Gates


class _Handler(BaseHTTPRequestHandler):
    prometheus_answers: ClassVar[dict[str, object]] = {}

    def do_GET(self):
        if self.path.startswith("/api/v1/query"):
            query = self.path.split("query=", 1)[1]
            body = json.dumps(self.prometheus_answers.get(query, {"status": "error", "error": "x"}))
            self._answer(200, body)
        elif self.path == "/healthz":
            self._answer(200, "ok")
        else:
            self._answer(503, "down")

    def _answer(self, status, body):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def _vector(value):
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, str(value)]}]},
    }


def test_http_gate_passes_on_the_expected_status_and_fails_otherwise(server):
    assert evaluate_gate(parse_gate(f"http:{server}/healthz")).passed
    down = evaluate_gate(parse_gate(f"http:{server}/other"))
    assert not down.passed
    assert down.value == 503
    assert evaluate_gate(parse_gate(f"http:{server}/other=503")).passed


def test_http_gate_fails_when_nothing_answers():
    result = evaluate_gate(Gate(kind="http", spec="x", url="http://127.0.0.1:9/"), timeout=2)
    assert not result.passed
    assert "no answer" in result.detail


def test_prometheus_gate_compares_the_value_with_its_threshold(server):
    _Handler.prometheus_answers = {"low": _vector(0.001), "high": _vector(0.2)}
    passed = evaluate_gate(parse_gate("prom:low < 0.01", prometheus_url=server))
    assert passed.passed
    assert passed.value == pytest.approx(0.001)
    failed = evaluate_gate(parse_gate("prom:high < 0.01", prometheus_url=server))
    assert not failed.passed
    assert "0.2" in failed.detail
    assert evaluate_gate(parse_gate("prom:high >= 0.2", prometheus_url=server)).passed


def test_prometheus_gate_fails_without_a_single_value(server):
    _Handler.prometheus_answers = {
        "none": {"status": "success", "data": {"resultType": "vector", "result": []}}
    }
    assert not evaluate_gate(parse_gate("prom:none < 1", prometheus_url=server)).passed
    assert not evaluate_gate(parse_gate("prom:unknown < 1", prometheus_url=server)).passed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("prom:up", "no comparison"),
        ("prom:up < 1", "needs a Prometheus server"),
        ("http:ftp://host/", "not an http"),
        ("tcp:host:22", "neither http"),
    ],
)
def test_bad_gates_are_refused(text, message):
    with pytest.raises(UsageError, match=message):
        parse_gate(text)


# Releases


def _artifact(tmp_path, version="1.0.0", data=b"release"):
    path = tmp_path / "build" / "demo-app" / f"demo-app-{version}.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    path.with_name(path.name + ".sha256").write_text(f"{digest}  {path.name}\n")
    return path, digest


def test_release_is_found_and_checked(tmp_path):
    path, digest = _artifact(tmp_path)
    release = find_release(project=tmp_path, version="1.0.0")
    assert release.artifact == path
    assert release.sha256 == digest


def test_unknown_version_and_checksum_mismatch_are_refused(tmp_path):
    path, _ = _artifact(tmp_path)
    with pytest.raises(UsageError, match=r"unknown version 9\.9\.9"):
        find_release(project=tmp_path, version="9.9.9")
    path.write_bytes(b"tampered")
    with pytest.raises(UsageError, match="checksum mismatch"):
        find_release(project=tmp_path, version="1.0.0")
    with pytest.raises(UsageError, match="not valid"):
        find_release(project=tmp_path, version="../1.0.0")


# The state machine, with playbook runs recorded instead of made


class _Runs:
    """Answers run_playbook calls: fails the deploy of the hosts in ``failing``."""

    def __init__(self, failing=()):
        self.failing = set(failing)
        self.calls = []

    def __call__(self, *, playbook, limit, extravars, **_):
        self.calls.append((playbook, limit, extravars))
        hosts = limit.split(",")
        bad = [h for h in hosts if h in self.failing and playbook.endswith("deploy.yml")]
        failures = tuple(SimpleNamespace(host=h, message="health check failed") for h in bad)
        return SimpleNamespace(ok=not bad, seconds=1.0, failures=failures, evidence=None)


@pytest.fixture
def project(tmp_path, monkeypatch):
    _artifact(tmp_path)
    monkeypatch.setattr("e5ops.rollout.group_hosts", lambda **_: HOSTS[:4])
    return tmp_path


def _start(project, runs, steps="1,50%,100%", gates=()):
    release = find_release(project=project, version="1.0.0")
    return start_rollout(
        project=project,
        inventory=project,
        release=release,
        steps=parse_steps(steps),
        gates=gates,
        bake_seconds=0,
        runner=runs,
    )


def test_a_good_rollout_deploys_step_by_step(project):
    runs = _Runs()
    state = _start(project, runs).run()
    assert state.status == "succeeded"
    assert [c[1] for c in runs.calls] == ["web1", "web2", "web3,web4"]
    assert all(c[0] == "playbooks/deploy.yml" for c in runs.calls)
    assert runs.calls[0][2]["release_version"] == "1.0.0"
    assert load_state(project / ".e5ops/rollouts").status == "succeeded"


def test_a_failed_canary_rolls_back_and_goes_no_further(project):
    runs = _Runs(failing={"web1"})
    rollout = _start(project, runs)
    with pytest.raises(RolloutError, match="step 1 failed"):
        rollout.run()
    assert [c[:2] for c in runs.calls] == [
        ("playbooks/deploy.yml", "web1"),
        ("playbooks/rollback.yml", "web1"),
    ]
    assert runs.calls[1][2]["release_rollback_only_from"] == "1.0.0"
    assert load_state(project / ".e5ops/rollouts").status == "rolled_back"


def test_a_failed_gate_rolls_back_every_moved_host(project):
    runs = _Runs()
    rollout = _start(project, runs, gates=["http:http://127.0.0.1:9/"])
    with pytest.raises(RolloutError, match="gate failed after step 1"):
        rollout.run()
    assert runs.calls[-1][:2] == ("playbooks/rollback.yml", "web1")


def test_a_paused_rollout_resumes_in_a_new_invocation(project):
    runs = _Runs()
    rollout = _start(project, runs)
    request_pause(project=project)
    state = rollout.run()
    assert state.status == "paused"
    assert state.next_step == 1
    with pytest.raises(UsageError, match="is paused"):
        _start(project, runs)
    resumed = Rollout(
        project=project, state=load_state(project / ".e5ops/rollouts"), runner=runs
    ).run()
    assert resumed.status == "succeeded"
    assert [c[1] for c in runs.calls] == ["web1", "web2", "web3,web4"]


def test_abort_rolls_back_the_moved_hosts(project):
    runs = _Runs()
    rollout = _start(project, runs)
    request_pause(project=project)
    rollout.run()
    state = Rollout(
        project=project, state=load_state(project / ".e5ops/rollouts"), runner=runs
    ).abort()
    assert state.status == "aborted"
    assert runs.calls[-1][:2] == ("playbooks/rollback.yml", "web1")
    assert not Path(project, ".e5ops/rollouts/pause").exists()


def test_cli_refuses_bad_input_with_a_usage_exit_code(project, monkeypatch, capsys):
    monkeypatch.setenv("E5OPS_PROJECT", str(project))
    (project / "galaxy.yml").write_text("name: x\n")
    assert main(["rollout", "--release", "9.9.9", "-i", str(project)]) == 2
    assert "unknown version 9.9.9" in capsys.readouterr().err
    assert main(["rollout", "--release", "1.0.0", "--steps", "1,150%", "-i", str(project)]) == 2
    assert "at most 100%" in capsys.readouterr().err
    assert main(["rollout", "--resume"]) == 2
