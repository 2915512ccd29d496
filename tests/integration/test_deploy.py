"""Deploys under load on a lab of its own: lb1 in front of web1-web3.

Two runs, each under constant load through the load balancer (at least
10,000 requests, lab addresses only), must drop no request and leave no
backend drained:

1. a rolling deploy of web1 to web3 to a new version (playbooks/deploy.yml);
2. a staged rollout whose canary gets the broken version: its health check
   fails and the rollout rolls back by itself (e5ops.rollout).

The figures (requests, failures, p50 and p99 latency, rollback time) are
printed and written to .e5ops/labs/dep-t/results.json.

Needs podman, runc and the lab image; without them the test fails.
"""

import json
import subprocess
import sys

import pytest
from loadgen import Load
from probes import app_version, server_states

from e5ops.errors import UsageError
from e5ops.lab import Lab, LabConfig
from e5ops.rollout import RolloutError, find_release, parse_steps, rollback_seconds, start_rollout
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

NAME, SUBNET = "dep-t", "10.231.72.0/24"
LB = "10.231.72.10"
WEB = {"web1": "10.231.72.20", "web2": "10.231.72.21", "web3": "10.231.72.22"}
RESULTS = {}


@pytest.fixture(scope="module")
def inventory(project):
    subprocess.run(
        [sys.executable, str(project / "examples/demo-app/build.py")], check=True, cwd=project
    )
    lab = Lab(LabConfig(project=project, name=NAME, subnet=SUBNET))
    lab.down()
    try:
        started = lab.up(("lb1", *WEB))
        for playbook, extravars in (
            ("playbooks/loadbalancer.yml", {}),
            # The first release goes to every host at once: nothing is serving yet.
            ("playbooks/deploy.yml", {"release_version": "1.0.0", "deploy_serial": 3}),
        ):
            result = run_playbook(
                project=project, playbook=playbook, inventory=started.inventory, extravars=extravars
            )
            assert result.ok, result.failures
        yield started.inventory
    finally:
        (lab.config.state / "results.json").write_text(json.dumps(RESULTS, indent=2))
        lab.down()


def test_bad_input_is_refused_before_anything_runs(project, inventory):
    with pytest.raises(UsageError, match="unknown version"):
        find_release(project=project, version="9.9.9")
    release = find_release(project=project, version="1.1.0")
    for steps, message in (
        ("0%,100%", "above 0%"),
        ("1,150%", "at most 100%"),
        ("2,1,100%", "not increasing"),
    ):
        with pytest.raises(UsageError, match=message):
            start_rollout(
                project=project, inventory=inventory, release=release, steps=parse_steps(steps)
            )
    with pytest.raises(UsageError, match="no hosts"):
        start_rollout(
            project=project,
            inventory=inventory,
            release=release,
            steps=("100%",),
            group="db_servers",
        )
    result = run_playbook(
        project=project,
        playbook="playbooks/deploy.yml",
        inventory=inventory,
        extravars={"release_version": "1.1.0", "release_sha256": "0" * 64},
    )
    assert not result.ok
    assert any("Checksum mismatch" in f.message for f in result.failures)
    assert {app_version(address) for address in WEB.values()} == {"1.0.0"}
    assert set(server_states(LB).values()) == {"UP"}


def test_rolling_deploy_under_load_drops_no_request(project, inventory):
    with Load(host=LB, subnet=SUBNET) as load:
        result = run_playbook(
            project=project,
            playbook="playbooks/deploy.yml",
            inventory=inventory,
            extravars={"release_version": "1.1.0"},
        )
    report = load.report()
    RESULTS["rolling_deploy"] = {**report.__dict__, "deploy_seconds": round(result.seconds, 1)}
    print(f"\nrolling deploy 1.0.0 -> 1.1.0 in {result.seconds:.0f} s: {report.line()}")  # noqa: T201 - the figures are what this test reports
    assert result.ok, result.failures
    assert report.requests >= 10_000
    assert report.failed == 0, report.line()
    assert {app_version(address) for address in WEB.values()} == {"1.1.0"}
    assert server_states(LB) == {"web1": "UP", "web2": "UP", "web3": "UP"}


def test_broken_canary_rolls_back_by_itself_under_load(project, inventory, tmp_path):
    release = find_release(project=project, version="1.3.0-broken")
    rollout = start_rollout(
        project=project,
        inventory=inventory,
        release=release,
        steps=parse_steps("1,50%,100%"),
        gates=[f"http:http://{LB}/healthz"],
        bake_seconds=5,
        directory=tmp_path,
    )
    with Load(host=LB, subnet=SUBNET) as load, pytest.raises(RolloutError, match="step 1 failed"):
        rollout.run()
    report = load.report()
    state = rollout.state
    seconds = rollback_seconds(state)
    RESULTS["broken_canary"] = {**report.__dict__, "rollback_seconds": seconds}
    print(f"\nbroken canary rolled back in {seconds} s: {report.line()}")  # noqa: T201 - the figures are what this test reports
    assert state.status == "rolled_back"
    assert state.moved == ["web1"]
    assert [e["kind"] for e in state.events][-2:] == ["rollback_started", "rollback_ended"]
    assert report.requests >= 10_000
    assert report.failed == 0, report.line()
    assert {app_version(address) for address in WEB.values()} == {"1.1.0"}
    assert server_states(LB) == {"web1": "UP", "web2": "UP", "web3": "UP"}
