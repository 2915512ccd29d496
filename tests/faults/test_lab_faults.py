"""Faults on a real lab, one after the other: each breaks one part on purpose.

Lab `faults` (10.231.94.0/24), converged once for the module by
tests/faults/playbooks/converge.yml out of the roles' own playbooks: web1
serves its data over HTTPS (nginx, the tls role's self-signed certificate)
and backs it up with restic to backup1; mon1 runs Prometheus, Alertmanager
and the probes, and Alertmanager posts to a receiver in this process.

Each case asserts four things: the service kept serving (constant HTTPS
load on web1, zero failed requests unless a bound is stated), nothing was
lost, the failure is in the signed evidence, and an alert fired where one
should (or, where none should, none did). The cases:

- the backup repository's disk full;
- a corrupted restic pack, found by `restic check` and the restore drill;
- an expired certificate, renewed by the tls role's next run;
- Prometheus stopped and started again;
- the controller killed in the middle of a run.

The disk-full case mounts a small tmpfs over the repository inside backup1
(`podman exec --privileged` for that one mount: lab hosts themselves stay
unprivileged). The repository then lives on that tmpfs for the rest of the
module.

Needs podman, runc and the lab image; without them the tests fail.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
from alert_receiver import AlertReceiver
from loadgen import Load
from probes import get_json, wait_until

from e5ops.lab import Lab, LabConfig
from e5ops.runner import RunResult, run_playbook

if TYPE_CHECKING:
    from pathlib import Path

    from signed import SignedEvidence

pytestmark = pytest.mark.lab

LAB, SUBNET = "faults", "10.231.94.0/24"
GATEWAY = "10.231.94.1"
WEB1, MON1 = "10.231.94.20", "10.231.94.100"
HOSTS = ("web1", "mon1", "backup1")
PROMETHEUS = f"http://{MON1}:9090"
REPO = "/srv/restic/restic-web1/repo"
FAULT_MOUNT = "/mnt/e5ops-fault"
TEXTFILE_DIR = "/var/lib/prometheus/node-exporter"
ALERT_TIMEOUT = 120.0
# Light, steady load: enough to see a dropped request, little CPU on a shared machine.
LOAD = {"subnet": SUBNET, "path": "/", "tls": True, "workers": 2, "rate": 20.0, "min_requests": 0}

# A rule of the test's own, through the role's monitoring_rules_extra: it
# fires as soon as web1 exports e5ops_fault_drill 1, with no wait.
DRILL_RULES = [
    {
        "name": "e5ops-fault-drill",
        "rules": [
            {
                "alert": "FaultDrill",
                "expr": "e5ops_fault_drill > 0",
                "labels": {"severity": "ticket"},
                "annotations": {"summary": "the fault suite's drill alert"},
            }
        ],
    }
]


@dataclass
class Stack:
    lab: Lab
    project: Path
    evidence: SignedEvidence
    receiver: AlertReceiver
    extravars: dict
    converge_seconds: float

    @property
    def inventory(self) -> Path:
        return self.lab.config.inventory_dir / "hosts.yml"

    def run(self, playbook: str, **options) -> RunResult:
        return run_playbook(
            project=self.project,
            playbook=playbook,
            inventory=self.inventory,
            record=True,
            evidence_dir=self.evidence.directory,
            **options,
        )

    def on(self, host: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command as root inside a lab host (a probe or a fault, beside Ansible)."""
        return self.lab.podman.exec(self.lab.config.container(host), *command, check=check)

    def metrics(self, job: str) -> dict[str, float]:
        text = self.on("web1", "cat", f"{TEXTFILE_DIR}/e5ops_{job}.prom").stdout
        return {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line and not line.startswith("#")
        }

    def snapshots(self) -> list[str]:
        # --no-lock: listing must work on a full repository too.
        command = ("restic", "--", "snapshots", "--json", "--no-lock")
        listed = self.on("web1", "/usr/local/sbin/e5ops-backup", *command)
        return sorted(snapshot["id"] for snapshot in json.loads(listed.stdout))

    def backup_job(self, job: str, *args: str) -> RunResult:
        return self.run(
            "tests/faults/playbooks/backup_job.yml",
            extravars={**self.extravars, "backup_job": job, "backup_job_args": list(args)},
        )


def targets_up() -> bool:
    try:
        targets = get_json(f"{PROMETHEUS}/api/v1/targets?state=active")["data"]["activeTargets"]
    except OSError:
        return False
    return bool(targets) and all(target["health"] == "up" for target in targets)


def only_record_of(evidence: SignedEvidence, result: RunResult) -> dict:
    """The evidence record of one run: the newest record, checked to be that run's."""
    record = evidence.records()[-1]
    assert record["run"]["playbook"] == result.playbook, (record["run"]["playbook"], result)
    return record


def failed_messages(record: dict) -> list[str]:
    tasks = record["run"]["tasks"]
    return [task.get("message", "") for task in tasks if task["status"] == "failed"]


@pytest.fixture(scope="module")
def stack(project, signed_evidence, tmp_path_factory):
    lab = Lab(LabConfig(project=project, name=LAB, subnet=SUBNET))
    lab.down()
    work = tmp_path_factory.mktemp("faults")
    seed = work / "app-data.tar.gz"
    with tarfile.open(seed, "w:gz") as tar:
        for name, content in {
            "index.html": b"<h1>fault suite</h1>\n",
            "healthz": b"ok\n",
            "data.bin": os.urandom(512 * 1024),
        }.items():
            path = work / name
            path.write_bytes(content)
            tar.add(path, arcname=name)
    ca_dir = work / "ca"
    try:
        lab.up(HOSTS)
        with AlertReceiver(GATEWAY) as receiver:
            extravars = {
                "monitoring_test_ca_dir": str(ca_dir),
                "standin_app_seed": str(seed),
                "e5ops_tls_hosts": "webservers",
                "tls_mode": "selfsigned",
                "tls_nginx_enabled": True,
                "tls_nginx_server_enabled": True,
                "tls_nginx_root": "/srv/app/data",
                "monitoring_agent_tls_ca_cert_src": str(ca_dir / "ca.crt"),
                "monitoring_agent_tls_ca_key_src": str(ca_dir / "ca.key"),
                # The CA is made by the converge's first play: read when used.
                "monitoring_scrape_ca_cert": f"{{{{ lookup('file', '{ca_dir}/ca.crt') }}}}",
                "monitoring_probe_ca_cert": f"{{{{ lookup('file', '{ca_dir}/ca.crt') }}}}",
                "monitoring_alertmanager_receivers": [{"name": "lab", "url": receiver.url}],
                "monitoring_alertmanager_repeat_interval": "1h",
                "monitoring_rules_extra": DRILL_RULES,
                "e5ops_backup_clients": "web1",
                "backup_paths": ["/srv/app"],
            }
            started = time.monotonic()
            stack = Stack(lab, project, signed_evidence, receiver, extravars, 0.0)
            converged = stack.run("tests/faults/playbooks/converge.yml", extravars=extravars)
            assert converged.ok, converged.failures
            first = stack.backup_job("run")
            assert first.ok, first.failures
            stack.converge_seconds = time.monotonic() - started
            assert wait_until(targets_up, timeout=120), "not every Prometheus target came up"
            yield stack
    finally:
        lab.down()


def alerts_after(receiver: AlertReceiver, after: float, status: str = "firing") -> set[str]:
    """Names of the alerts about the lab's hosts received since ``after``."""
    return {
        a.name
        for a in receiver.alerts
        if a.received >= after and a.status == status and a.instance in HOSTS
    }


def test_backup_repository_disk_full(stack):
    before = stack.snapshots()
    success_before = stack.metrics("backup")["e5ops_backup_last_success_timestamp_seconds"]
    # The repository moves onto a 64 MiB tmpfs, which a filler then fills.
    stack.lab.podman.run(
        "exec", "--privileged", stack.lab.config.container("backup1"), "sh", "-ec",
        f"mkdir -p {FAULT_MOUNT}; mount -t tmpfs -o size=64m,mode=0755 e5ops-fault {FAULT_MOUNT}; "
        f"cp -a {REPO} {FAULT_MOUNT}/repo; mount --bind {FAULT_MOUNT}/repo {REPO}; "
        f"dd if=/dev/zero of={FAULT_MOUNT}/filler bs=64k 2>/dev/null || true",
    )  # fmt: skip
    free = stack.on("backup1", "df", "--output=avail", "-k", REPO).stdout.split()[-1]
    assert int(free) == 0
    stack.on("web1", "sh", "-c", "head -c 1000000 /dev/urandom > /srv/app/data/new.bin")

    started = time.monotonic()
    with Load(host=WEB1, **LOAD) as load:
        failed = stack.backup_job("run")
        fired = stack.receiver.wait_for(
            name="BackupFailed", instance="web1", status="firing", after=started,
            timeout=ALERT_TIMEOUT,
        )  # fmt: skip
        failed_seconds = time.monotonic() - started

        # The failure, clearly: the job, the metric, the signed record.
        assert not failed.ok
        values = stack.metrics("backup")
        assert values["e5ops_backup_last_exit_status"] == 1
        assert values["e5ops_backup_last_success_timestamp_seconds"] == success_before
        record = only_record_of(stack.evidence, failed)
        assert record["run"]["status"] == "failed"
        outcome = record["run"]["published"]["e5ops_evidence"]["backup_job"]["web1"]
        assert int(outcome["exit_status"]) == 1
        assert "restic backup failed: the repository refused a write" in outcome["message"]
        assert any("e5ops-backup run failed on web1" in m for m in failed_messages(record))
        assert fired, f"no BackupFailed within {ALERT_TIMEOUT:.0f}s: {stack.receiver.alerts}"
        # Nothing lost: the snapshots before the failure are all there.
        assert stack.snapshots() == before

        # Room again: the next backup succeeds and the repository is sound.
        stack.on("backup1", "rm", f"{FAULT_MOUNT}/filler")
        freed = time.monotonic()
        again = stack.backup_job("run")
        assert again.ok, again.failures
        check = stack.backup_job("check", "--read-data-subset", "1/1")
        assert check.ok, check.failures
        resolved = stack.receiver.wait_for(
            name="BackupFailed", instance="web1", status="resolved", after=freed,
            timeout=ALERT_TIMEOUT,
        )  # fmt: skip
    report = load.report()
    after = stack.snapshots()
    assert set(before) < set(after)
    assert len(after) == len(before) + 1
    assert resolved, "BackupFailed did not resolve after a good backup"
    assert report.failed == 0, report.line()
    stack.evidence.verify()
    print(f"disk full: job failed and alert in {failed_seconds:.0f}s; load {report.line()}")  # noqa: T201


def test_corrupted_pack_is_found_by_check_and_drill(stack):
    packs = stack.on(
        "backup1", "sh", "-c", f"find {REPO}/data -type f -printf '%s %p\\n' | sort -n"
    ).stdout.splitlines()
    largest = packs[-1].split()[1]
    stack.on("backup1", "cp", "-p", largest, f"{FAULT_MOUNT}/pack.orig")
    stack.on(
        "backup1", "sh", "-c",
        f"size=$(stat -c %s {largest}); "
        f"printf CORRUPT | dd of={largest} bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null",
    )  # fmt: skip
    started = time.monotonic()
    try:
        with Load(host=WEB1, **LOAD) as load:
            check = stack.backup_job("check", "--read-data-subset", "1/1")
            check_record = only_record_of(stack.evidence, check)
            drill = stack.run(
                "playbooks/restore_drill.yml", extravars={"restore_drill_hosts": "web1"}
            )
            drill_record = only_record_of(stack.evidence, drill)
            fired = stack.receiver.wait_for(
                name="BackupCheckFailed", instance="web1", status="firing", after=started,
                timeout=ALERT_TIMEOUT,
            )  # fmt: skip
    finally:
        stack.on("backup1", "cp", "-p", f"{FAULT_MOUNT}/pack.orig", largest)
    report = load.report()

    assert not check.ok
    outcome = check_record["run"]["published"]["e5ops_evidence"]["backup_job"]["web1"]
    assert int(outcome["exit_status"]) == 1
    assert "restic check (data subset 1/1) failed" in outcome["message"]
    assert stack.metrics("backup_check")["e5ops_backup_check_last_exit_status"] == 1
    assert not drill.ok
    assert drill_record["run"]["status"] == "failed"
    drilled = drill_record["run"]["published"]["e5ops_evidence"]["restore_drill"]["web1"]
    assert drilled["ok"] is False
    assert any("restore drill on web1 failed" in m for m in failed_messages(drill_record))
    assert fired, f"no BackupCheckFailed within {ALERT_TIMEOUT:.0f}s: {stack.receiver.alerts}"
    assert report.failed == 0, report.line()

    # Nothing lost once the pack is back: check and drill pass, byte for byte.
    repaired = time.monotonic()
    assert stack.backup_job("check", "--read-data-subset", "1/1").ok
    drill = stack.run("playbooks/restore_drill.yml", extravars={"restore_drill_hosts": "web1"})
    assert drill.ok, drill.failures
    assert drill.published["e5ops_evidence"]["restore_drill"]["web1"]["mismatched"] == 0
    assert stack.receiver.wait_for(
        name="BackupCheckFailed", instance="web1", status="resolved", after=repaired,
        timeout=ALERT_TIMEOUT,
    )  # fmt: skip
    stack.evidence.verify()


def served_certificate() -> str:
    return ssl.get_server_certificate((WEB1, 443), timeout=10)


def verify_served(pem: str) -> str | None:
    """Connect trusting only ``pem`` (the certificate is self-signed); return the error if any."""
    context = ssl.create_default_context(cadata=pem)
    context.check_hostname = False
    try:
        with urllib.request.urlopen(f"https://{WEB1}/", context=context, timeout=10):
            return None
    except urllib.error.URLError as exc:
        return str(exc.reason)


def test_expired_certificate_is_detected_and_renewed(stack):
    started = time.monotonic()
    with Load(host=WEB1, **LOAD) as load:
        expired = stack.run("tests/faults/playbooks/expired_certificate.yml")
        assert expired.ok, expired.failures
        pem = served_certificate()
        # Seen from outside: a client that checks the certificate is refused.
        assert "certificate has expired" in (verify_served(pem) or "")
        fired = stack.receiver.wait_for(
            name="CertificateExpiring", instance="web1", status="firing", after=started,
            timeout=ALERT_TIMEOUT,
        )  # fmt: skip
        renewed_at = time.monotonic()
        renewed = stack.run("playbooks/tls.yml", limit="web1", extravars=stack.extravars)
        resolved = stack.receiver.wait_for(
            name="CertificateExpiring", instance="web1", status="resolved", after=renewed_at,
            timeout=ALERT_TIMEOUT,
        )  # fmt: skip
    report = load.report()

    assert fired, f"no CertificateExpiring within {ALERT_TIMEOUT:.0f}s: {stack.receiver.alerts}"
    assert renewed.ok, renewed.failures
    record = only_record_of(stack.evidence, renewed)
    tls = record["run"]["published"]["e5ops_evidence"]["tls"]["web1"]
    assert tls["renewed"] is True
    assert "due" in tls["renew_reasons"]
    new_pem = served_certificate()
    assert new_pem != pem
    assert verify_served(new_pem) is None
    assert resolved, "CertificateExpiring did not resolve after the renewal"
    # Clients that do not check expiry were served all along; nginx reloads
    # without dropping a connection. Checking clients fail from expiry until
    # the renewal: that window is the time between two runs of the role.
    assert report.failed == 0, report.line()
    stack.evidence.verify()


def monitoring_config_digest(stack: Stack) -> str:
    return stack.on(
        "mon1", "sh", "-c",
        "sha256sum /etc/prometheus/prometheus.yml /etc/prometheus/alertmanager.yml "
        "/etc/prometheus/rules/*.yml /etc/default/prometheus",
    ).stdout  # fmt: skip


def loaded_rules() -> set[str]:
    groups = get_json(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"]
    return {rule["name"] for group in groups for rule in group["rules"]}


def test_prometheus_stopped_and_started_again(stack):
    digest = monitoring_config_digest(stack)
    rules = loaded_rules()
    assert {"HostDown", "BackupFailed", "FaultDrill"} <= rules
    drill_file = f"{TEXTFILE_DIR}/e5ops_fault_drill.prom"
    with Load(host=WEB1, **LOAD) as load:
        stack.on("mon1", "systemctl", "stop", "prometheus")
        stopped = time.monotonic()
        with pytest.raises(urllib.error.URLError, match="Connection refused"):
            get_json(f"{PROMETHEUS}/-/ready")
        # While Prometheus is away, a condition arises that must alert once it is back.
        stack.on("web1", "sh", "-c", f"echo 'e5ops_fault_drill 1' > {drill_file}")
        # The role's next run finds Prometheus stopped and starts it: that is the repair.
        repaired = stack.run("playbooks/monitoring.yml", limit="mon1", extravars=stack.extravars)
        assert repaired.ok, repaired.failures
        fired = stack.receiver.wait_for(
            name="FaultDrill", instance="web1", status="firing", after=stopped,
            timeout=ALERT_TIMEOUT,
        )  # fmt: skip
        stack.on("web1", "rm", "-f", drill_file)
        all_up = wait_until(targets_up, timeout=60)
    report = load.report()

    record = only_record_of(stack.evidence, repaired)
    changed = {(t["host"], t["task"]) for t in record["run"]["tasks"] if t["changed"]}
    assert ("mon1", "Enable and start the monitoring services") in changed
    # No configuration lost: the same files, the same rules, every target back.
    assert monitoring_config_digest(stack) == digest
    assert loaded_rules() == rules
    assert all_up
    assert fired, f"no FaultDrill after the restart: {stack.receiver.alerts}"
    # The gap in the data raised no false alarm about the hosts.
    assert "HostDown" not in alerts_after(stack.receiver, stopped)
    assert report.failed == 0, report.line()
    stack.evidence.verify()


def test_controller_killed_mid_run_leaves_consistent_evidence(stack, tmp_path):
    extravars = tmp_path / "extravars.json"
    extravars.write_text(json.dumps(stack.extravars))
    extravars.chmod(0o600)
    records_before = len(stack.evidence.records())
    inflight = stack.evidence.directory / ".inflight"
    log = tmp_path / "ansible-playbook.log"
    started = time.monotonic()
    with Load(host=WEB1, **LOAD) as load:
        process = subprocess.Popen(
            [
                str(stack.project / ".venv/bin/ansible-playbook"),
                "-i", str(stack.inventory), "-e", f"@{extravars}", "playbooks/monitoring.yml",
            ],
            cwd=stack.project, stdout=log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

        def some_tasks_done():
            journals = list(inflight.glob("*.jsonl"))
            return journals and len(journals[0].read_text().splitlines()) >= 6

        assert wait_until(some_tasks_done, timeout=300, interval=0.5), log.read_text()
        assert process.poll() is None, "the run ended before it was killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        killed = time.monotonic()
        # The next run records the stale journal as an interrupted run, then
        # completes the work.
        resumed = stack.run("playbooks/monitoring.yml", extravars=stack.extravars)
    report = load.report()

    assert resumed.ok, resumed.failures
    records = stack.evidence.records()
    assert len(records) == records_before + 2
    interrupted, completed = records[-2], records[-1]
    assert interrupted["complete"] is False
    assert f"process {process.pid} ended" in interrupted["incomplete_reason"]
    assert interrupted["run"]["tasks"]
    assert completed["complete"] is True
    assert completed["run"]["status"] == "successful"
    assert not list(inflight.glob("*"))
    verified = subprocess.run(
        [
            str(stack.project / ".venv/bin/e5ops"), "evidence", "verify",
            "--key", str(stack.evidence.keys.public), str(stack.evidence.directory),
        ],
        capture_output=True, text=True, cwd=stack.project, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # A controller lost is no fault of the fleet: no host alert may fire for it.
    assert not alerts_after(stack.receiver, started) & {"HostDown", "ProbeFailing"}
    assert report.failed == 0, report.line()
    print(f"controller kill: killed after {killed - started:.0f}s; load {report.line()}")  # noqa: T201
