"""Step 4's drills on a lab of their own (ops-d: lb1 in front of web1-web3).

Each drill is a playbook that puts a bounded load on the load balancer's
public HTTPS endpoint from the controller (playbooks/files/loadgen.py, lab
addresses only), does its work, stops the load and publishes its figures with
set_stats, so that the E5 pipeline's gate 04a reads them from the evidence:

1. playbooks/deploy_under_load.yml: a rolling deploy to a new release;
2. playbooks/drill_canary.yml: a broken release on one canary, whose health
   check fails; it is rolled back, and the drill succeeds;
3. playbooks/drill_host_loss.yml: a backend's service is stopped, HAProxy
   takes it out, then it comes back; run through plain ansible-playbook, so
   that the evidence callback's path is covered too.

Every run is recorded as step 04 evidence in a directory of the test's own.
Needs podman, runc and the lab image; without them the test fails.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from probes import app_version, server_states

from e5ops.evidence import EvidenceStore
from e5ops.lab import Lab, LabConfig
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

NAME, SUBNET = "ops", "10.231.93.0/24"
LB = "10.231.93.10"
WEB = {"web1": "10.231.93.20", "web2": "10.231.93.21", "web3": "10.231.93.22"}


@pytest.fixture(scope="module")
def inventory(project, signed_evidence):  # noqa: ARG001 - the drills record into its directory
    subprocess.run(
        [sys.executable, str(project / "examples/demo-app/build.py")], check=True, cwd=project
    )
    lab = Lab(LabConfig(project=project, name=NAME, subnet=SUBNET))
    lab.down()
    try:
        started = lab.up(("lb1", *WEB), boot_timeout=300)
        for playbook, extravars in (
            ("playbooks/loadbalancer.yml", {}),
            ("playbooks/deploy.yml", {"release_version": "1.0.0", "deploy_serial": 3}),
        ):
            result = run_playbook(
                project=project,
                playbook=playbook,
                inventory=started.inventory,
                extravars=extravars,
                record=False,
            )
            assert result.ok, result.failures
        yield started.inventory
    finally:
        lab.down()


def _record(evidence_dir, playbook: str) -> dict:
    """Return the latest step 04 record of ``playbook``."""
    records = [
        r.record
        for r in EvidenceStore(evidence_dir).records()
        if r.name.startswith("04_") and r.record["run"]["playbook"].endswith(playbook)
    ]
    assert records, f"no step 04 record of {playbook}"
    return records[-1]


def test_bad_input_is_refused_before_any_load(project, inventory):
    missing = run_playbook(
        project=project, playbook="playbooks/drill_canary.yml", inventory=inventory, record=False
    )
    assert not missing.ok
    assert any("drill_canary_release" in f.message for f in missing.failures), missing.failures
    elsewhere = run_playbook(
        project=project,
        playbook="playbooks/deploy_under_load.yml",
        inventory=inventory,
        extravars={"release_version": "1.1.0", "drill_load_network": "10.231.94.0/24"},
        record=False,
    )
    assert not elsewhere.ok
    assert any("not a lab address" in f.message for f in elsewhere.failures), elsewhere.failures
    assert {app_version(address) for address in WEB.values()} == {"1.0.0"}


def test_rolling_deploy_under_load_drops_no_request(project, inventory, signed_evidence):
    result = run_playbook(
        project=project,
        playbook="playbooks/deploy_under_load.yml",
        inventory=inventory,
        extravars={"release_version": "1.1.0"},
        step="04",
    )
    published = result.published
    print(f"\ndeploy under load in {result.seconds:.0f} s: {published}")  # noqa: T201 - the figures are what this test reports
    assert result.ok, result.failures
    assert published["requests"] >= 1000
    assert published["failed_requests"] == 0
    assert 0 < published["latency_p50_ms"] <= published["latency_p99_ms"]
    assert published["deploy_release"] == "1.1.0"
    assert (
        _record(signed_evidence.directory, "deploy_under_load.yml")["run"]["published"] == published
    )
    assert {app_version(address) for address in WEB.values()} == {"1.1.0"}
    assert server_states(LB) == dict.fromkeys(WEB, "UP")


def test_broken_canary_is_rolled_back_and_the_drill_succeeds(project, inventory, signed_evidence):
    result = run_playbook(
        project=project,
        playbook="playbooks/drill_canary.yml",
        inventory=inventory,
        extravars={"drill_canary_release": "1.3.0-broken"},
        step="04",
    )
    published = result.published
    print(f"\ncanary drill in {result.seconds:.0f} s: {published}")  # noqa: T201 - the figures are what this test reports
    assert result.ok, result.failures
    assert result.hosts["web1"].rescued == 1
    assert published["canary_host"] == "web1"
    assert "failed its health check" in published["canary_error"]
    assert 0 < published["rollback_seconds"] <= 60
    assert published["fleet_versions"] == dict.fromkeys(WEB, "1.1.0")
    assert published["fleet_serves_previous"] is True
    assert published["canary_failed_requests"] == 0
    assert published["canary_requests"] > 0
    record = _record(signed_evidence.directory, "drill_canary.yml")
    assert record["run"]["status"] == "successful"
    assert record["run"]["published"] == published
    assert {app_version(address) for address in WEB.values()} == {"1.1.0"}
    assert server_states(LB) == dict.fromkeys(WEB, "UP")


def test_host_loss_loses_no_request_through_plain_ansible(project, inventory, signed_evidence):
    plain = subprocess.run(
        [
            str(project / ".venv/bin/ansible-playbook"),
            *("-i", str(inventory), "playbooks/drill_host_loss.yml"),
        ],
        cwd=project,
        env={**os.environ, "E5OPS_EVIDENCE_STEP": "04"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert plain.returncode == 0, plain.stdout[-4000:] + plain.stderr[-2000:]
    published = _record(signed_evidence.directory, "drill_host_loss.yml")["run"]["published"]
    print(f"\nhost loss drill: {published}")  # noqa: T201 - the figures are what this test reports
    assert published["host_loss_host"] == "web3"
    assert published["requests_lost"] == 0
    assert published["host_loss_requests"] > 0
    assert 0 < published["host_loss_detect_seconds"] < 60
    assert 0 < published["host_loss_return_seconds"] < 60
    assert server_states(LB) == dict.fromkeys(WEB, "UP")
    assert app_version(WEB["web3"]) == "1.1.0"
    signed_evidence.verify()
