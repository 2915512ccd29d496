"""Faults in the middle of a rollout, on a lab of their own.

Lab ops-f (10.231.95.0/24): lb1, web1-web3, mon1.

A rolling deploy (playbooks/deploy.yml, one host at a time) runs under
constant HTTPS load through the load balancer (the collection's load
generator, lab addresses only). While the first host is drained, a host that
is still serving is broken:

- a backend killed: its container is killed outright (`podman kill`);
- a host cut off from the network: its interface goes down from inside.

Each case asserts four things:

1. the service kept serving: at most one failed request per load worker.
   That is the stated bound: a request a worker had in flight on the broken
   host gets no answer (no reset comes back from a host that is gone), and the
   worker gives up after its timeout; HAProxy's health check takes the host
   out within seconds, and every later request goes to a host that answers.
2. nothing was lost: once the host is back, a second run of the same deploy
   completes the rollout; every host serves the new release and is in service.
3. the failure is in the evidence: the signed record of the interrupted run
   is marked failed and names the host as unreachable.
4. an alert fired: Prometheus on mon1 scrapes HAProxy, and Alertmanager sends
   LoadBalancerBackendDown for that host to a receiver in this process.

Needs podman, runc and the lab image; without them the tests fail.
"""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time

import pytest
from alert_receiver import AlertReceiver
from loadgen import Load
from probes import app_version, server_states, wait_until

from e5ops.evidence import EvidenceStore
from e5ops.lab import Lab, LabConfig
from e5ops.runner import RunResult, run_playbook

pytestmark = pytest.mark.lab

NAME, SUBNET = "ops-f", "10.231.95.0/24"
GATEWAY, LB = "10.231.95.1", "10.231.95.10"
WEB = {"web1": "10.231.95.20", "web2": "10.231.95.21", "web3": "10.231.95.22"}
WORKERS = 8
# Short intervals, so that an alert with `for: 1m` reaches the receiver in
# about a minute and a half; production keeps the role's defaults.
MONITORING = {
    "monitoring_node_enabled": False,
    "monitoring_app_enabled": False,
    "monitoring_probe_public_enabled": False,
    "monitoring_probe_backend_enabled": False,
    "monitoring_scrape_interval": "5s",
    "monitoring_evaluation_interval": "5s",
    "monitoring_alertmanager_group_wait": "5s",
    "monitoring_alertmanager_group_interval": "10s",
    "monitoring_alertmanager_repeat_interval": "1h",
}
ALERT_TIMEOUT = 240.0


@pytest.fixture(scope="module")
def lab(project):
    subprocess.run(
        [sys.executable, str(project / "examples/demo-app/build.py")], check=True, cwd=project
    )
    lab = Lab(LabConfig(project=project, name=NAME, subnet=SUBNET))
    lab.down()
    try:
        lab.up(("lb1", *WEB, "mon1"))
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def receiver(lab):  # noqa: ARG001 - the gateway exists once the lab's network does
    with AlertReceiver(GATEWAY) as receiver:
        yield receiver


@pytest.fixture(scope="module")
def inventory(lab, project, receiver):
    inventory = lab.config.inventory_dir / "hosts.yml"
    for playbook, extravars in (
        ("playbooks/loadbalancer.yml", {}),
        ("playbooks/deploy.yml", {"release_version": "1.0.0", "deploy_serial": 3}),
        (
            "tests/faults/playbooks/rollout_monitoring.yml",
            {
                **MONITORING,
                "monitoring_alertmanager_receivers": [{"name": "lab", "url": receiver.url}],
            },
        ),
    ):
        result = run_playbook(
            project=project,
            playbook=playbook,
            inventory=inventory,
            extravars=extravars,
            record=False,
        )
        assert result.ok, result.failures
    return inventory


def _backend_down_alert(receiver: AlertReceiver, host: str, after: float):
    def fired():
        return next(
            (
                alert
                for alert in list(receiver.alerts)
                if alert.name == "LoadBalancerBackendDown"
                and alert.labels.get("server") == host
                and alert.status == "firing"
                and alert.received >= after
            ),
            None,
        )

    return wait_until(fired, timeout=ALERT_TIMEOUT, interval=1.0)


def _rollout_with_fault(project, inventory, receiver, *, release: str, host: str, fault):
    """Deploy ``release`` under load; break ``host`` once web1 is drained.

    Returns the interrupted run, the load's report and the alert (or None).
    """
    load = Load(host=LB, subnet=SUBNET, workers=WORKERS, min_requests=1000, max_seconds=600)
    with load, concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        deploy = pool.submit(
            run_playbook,
            project=project,
            playbook="playbooks/deploy.yml",
            inventory=inventory,
            extravars={"release_version": release},
            record=True,
        )
        drained = wait_until(lambda: server_states(LB).get("web1") == "MAINT", timeout=300)
        assert drained, f"web1 was never drained: {server_states(LB)}"
        broken_at = time.monotonic()
        fault()
        out = wait_until(lambda: server_states(LB).get(host) == "DOWN", timeout=30)
        assert out, f"HAProxy did not take {host} out: {server_states(LB)}"
        interrupted: RunResult = deploy.result(timeout=900)
        alert = _backend_down_alert(receiver, host, broken_at)
    return interrupted, load.report(), alert


def _assert_fault_handled(
    project, inventory, evidence, receiver, *, run, report, alert, host, release
):
    print(f"\n{host}: {report.line()}; alert {'fired' if alert else 'MISSING'}")  # noqa: T201 - the figures are what this test reports
    # 1. The service kept serving, within the stated bound.
    assert report.requests >= 1000
    assert report.failed <= WORKERS, report.line()
    # 3. The failure is in the evidence: the run is recorded as failed, on that host.
    assert not run.ok
    records = [r.record for r in EvidenceStore(evidence.directory).records()]
    record = records[-1]["run"]
    assert record["playbook"] == "playbooks/deploy.yml"
    assert record["status"] == "failed"
    assert record["hosts"][host]["unreachable"] >= 1, record["hosts"]
    assert any(t["host"] == host and t["status"] == "unreachable" for t in record["tasks"])
    # 4. An alert fired for that host.
    assert alert is not None, [(a.name, a.labels, a.status) for a in receiver.alerts]
    # 2. Nothing was lost: the same deploy, run again, completes the rollout.
    again = run_playbook(
        project=project,
        playbook="playbooks/deploy.yml",
        inventory=inventory,
        extravars={"release_version": release},
        record=True,
    )
    assert again.ok, again.failures
    assert {app_version(address) for address in WEB.values()} == {release}
    assert wait_until(lambda: server_states(LB) == dict.fromkeys(WEB, "UP"), timeout=30), (
        server_states(LB)
    )
    evidence.verify()


def test_backend_killed_in_the_middle_of_a_rollout(
    project, lab, inventory, receiver, signed_evidence
):
    container = lab.config.container("web3")
    run, report, alert = _rollout_with_fault(
        project,
        inventory,
        receiver,
        release="1.1.0",
        host="web3",
        fault=lambda: lab.podman.run("kill", container),
    )
    # The host comes back as a crashed server would: booted again, same address.
    lab.up(("web3",))
    _assert_fault_handled(
        project,
        inventory,
        signed_evidence,
        receiver,
        run=run,
        report=report,
        alert=alert,
        host="web3",
        release="1.1.0",
    )


def test_host_cut_off_from_the_network_in_the_middle_of_a_play(
    project, lab, inventory, receiver, signed_evidence
):
    container = lab.config.container("web2")
    run, report, alert = _rollout_with_fault(
        project,
        inventory,
        receiver,
        release="1.2.0",
        host="web2",
        # From inside the host (it has NET_ADMIN): its only interface goes down.
        fault=lambda: lab.podman.exec(container, "ip", "link", "set", "eth0", "down"),
    )
    lab.podman.exec(container, "ip", "link", "set", "eth0", "up")
    lab.podman.exec(container, "ip", "route", "replace", "default", "via", GATEWAY)
    _assert_fault_handled(
        project,
        inventory,
        signed_evidence,
        receiver,
        run=run,
        report=report,
        alert=alert,
        host="web2",
        release="1.2.0",
    )
