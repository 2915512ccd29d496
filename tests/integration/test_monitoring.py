"""Monitoring end to end on real lab hosts: every target up, rules loaded, an
alert's round trip measured, and bad input refused without touching the
running configuration.

Lab mon-t (10.231.62.0/24): lb1 and web1 with stand-ins for the load balancer
and the application (tests/integration/playbooks/monitoring_standins.yml),
mon1 running Prometheus, Alertmanager and the blackbox exporter. A CA made on
the controller stands in for the tls role. As the lab's group_vars say,
Alertmanager posts to the alert recorder on mon1, whose log the alert drill
(playbooks/alert_drill.yml) reads; the drill's run is signed evidence.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from probes import get_json, wait_until

from e5ops.evidence import EvidenceStore
from e5ops.evidence.keys import create_key
from e5ops.lab import Lab, LabConfig
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

LAB = "mon-t"
SUBNET = "10.231.62.0/24"
MON1 = "10.231.62.100"
WEB1 = "10.231.62.20"
PROMETHEUS = f"http://{MON1}:9090"
# A test value for a lab that lives a few minutes, not a secret.
PASSWORD = "monitoring-lab-test-password"  # noqa: S105 - a throwaway lab value

# The lab's group_vars shorten the intervals (5s scrape and evaluation, 5s
# group wait, 10s group interval), so that the round trip fits in a test.
FIRE_TIMEOUT = 240
RESOLVE_TIMEOUT = 180


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name=LAB, subnet=SUBNET))
    lab.down()
    lab.up(("lb1", "web1", "mon1"))
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def deployed(lab, project, tmp_path_factory):
    inventory = lab.config.inventory_dir / "hosts.yml"
    ca_dir = tmp_path_factory.mktemp("ca")
    made_ca = run_playbook(
        project=project,
        playbook="tests/integration/playbooks/monitoring_ca.yml",
        inventory=inventory,
        extravars={"monitoring_test_ca_dir": str(ca_dir)},
        record=False,
    )
    assert made_ca.ok, made_ca
    ca_cert = (ca_dir / "ca.crt").read_text()
    extravars = {
        "monitoring_agent_basic_auth_password": PASSWORD,
        "monitoring_agent_tls_ca_cert_src": str(ca_dir / "ca.crt"),
        "monitoring_agent_tls_ca_key_src": str(ca_dir / "ca.key"),
        "monitoring_node_password": PASSWORD,
        "monitoring_scrape_ca_cert": ca_cert,
        "monitoring_probe_ca_cert": ca_cert,
    }
    started = time.monotonic()
    first = run_playbook(
        project=project,
        playbook="playbooks/monitoring.yml",
        inventory=inventory,
        extravars=extravars,
        record=False,
    )
    assert first.ok, first
    standins = run_playbook(
        project=project,
        playbook="tests/integration/playbooks/monitoring_standins.yml",
        inventory=inventory,
        record=False,
    )
    assert standins.ok, standins
    return {
        "inventory": inventory,
        "extravars": extravars,
        "ca_file": ca_dir / "ca.crt",
        "first_run_seconds": time.monotonic() - started,
    }


def active_targets() -> list[dict]:
    return get_json(f"{PROMETHEUS}/api/v1/targets?state=active")["data"]["activeTargets"]


@pytest.mark.usefixtures("deployed")
def test_every_target_is_up():
    def all_up():
        targets = active_targets()
        return targets if all(t["health"] == "up" for t in targets) else None

    targets = wait_until(all_up, timeout=90)
    assert targets, [
        (t["scrapePool"], t["labels"]["instance"], t["lastError"]) for t in active_targets()
    ]
    found = {(t["labels"]["job"], t["labels"]["instance"]) for t in targets}
    assert found == {
        ("prometheus", "mon1"),
        ("alertmanager", "mon1"),
        ("blackbox", "mon1"),
        ("node", "lb1"),
        ("node", "web1"),
        ("node", "mon1"),
        ("haproxy", "lb1"),
        ("probe_public", "https://10.231.62.10:443/healthz"),
        ("probe_backend", "http://10.231.62.20:8080/healthz"),
    }
    node = [t for t in targets if t["labels"]["job"] == "node"]
    assert {t["scrapeUrl"].split(":")[0] for t in node} == {"https"}


@pytest.mark.usefixtures("deployed")
def test_probes_succeed_over_verified_tls():
    def probes():
        result = get_json(f"{PROMETHEUS}/api/v1/query?query=probe_success")["data"]["result"]
        values = {r["metric"]["job"]: r["value"][1] for r in result}
        return values if values == {"probe_public": "1", "probe_backend": "1"} else None

    assert wait_until(probes, timeout=60), get_json(
        f"{PROMETHEUS}/api/v1/query?query=probe_success"
    )


@pytest.mark.usefixtures("deployed")
def test_shipped_rules_are_loaded_and_healthy():
    groups = get_json(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"]
    shipped = [g for g in groups if g["file"] == "/etc/prometheus/rules/e5ops.rules.yml"]
    rules = [rule for group in shipped for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {
        "HostDown",
        "DiskFilling",
        "MemoryPressure",
        "ClockSkew",
        "CertificateExpiring",
        "BackupTooOld",
        "BackupFailed",
        "BackupCheckFailed",
        "LoadBalancerBackendDown",
        "HighErrorRatio",
        "ProbeFailing",
    }
    assert {rule["health"] for rule in rules} == {"ok"}


def scrape_node_exporter(ca_file: Path, password: str | None) -> int:
    context = ssl.create_default_context(cafile=str(ca_file))
    request = urllib.request.Request(f"https://{WEB1}:9100/metrics")
    if password is not None:
        token = base64.b64encode(f"prometheus:{password}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as response:  # noqa: S310
            body = response.read().decode()
            assert "e5ops_tls_certificate_not_after_seconds" in body
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_node_exporter_serves_only_tls_with_the_password(deployed):
    assert scrape_node_exporter(deployed["ca_file"], PASSWORD) == 200
    assert scrape_node_exporter(deployed["ca_file"], None) == 401
    assert scrape_node_exporter(deployed["ca_file"], "wrong-password") == 401
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://{WEB1}:9100/metrics", timeout=5)


def test_second_run_changes_nothing_and_publishes_every_target_up(deployed, project):
    second = run_playbook(
        project=project,
        playbook="playbooks/monitoring.yml",
        inventory=deployed["inventory"],
        extravars=deployed["extravars"],
        record=False,
    )
    assert second.ok, second.failures
    assert second.changed == 0, [t for t in second.tasks if t.changed]
    # Read from Prometheus after a scrape: the gates 01a and 02a use these.
    assert second.published["scrape_targets_up_ratio"] == 1.0, second.published
    assert second.published["scrape_targets_total"] == 9
    assert second.published["scrape_targets_down"] == []
    assert second.published["monitoring_agents_down"] == 0


def test_check_and_diff_mode_on_the_converged_lab_changes_nothing(deployed, project):
    checked = run_playbook(
        project=project,
        playbook="playbooks/monitoring.yml",
        inventory=deployed["inventory"],
        extravars=deployed["extravars"],
        check=True,
        record=False,
    )
    assert checked.ok, checked.failures
    assert checked.changed == 0, [t for t in checked.tasks if t.changed]
    assert checked.artifact_dir
    for path in checked.artifact_dir.rglob("*"):
        if path.is_file():
            assert PASSWORD.encode() not in path.read_bytes(), path


def read_on_host(project: Path, inventory: Path, host: str, path: str) -> str:
    result = subprocess.run(
        [
            str(project / ".venv/bin/ansible"),
            "-i",
            str(inventory),
            host,
            "--become",
            "-m",
            "ansible.builtin.slurp",
            "-a",
            f"src={path}",
        ],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # ansible.cfg prints results as YAML; JSON would parse the same.
    answer = yaml.safe_load(result.stdout.split("=>", 1)[1])
    return base64.b64decode(answer["content"]).decode()


def test_alert_drill_round_trip_is_signed_evidence(deployed, project, tmp_path, monkeypatch):
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    evidence = tmp_path / "e5"
    monkeypatch.setenv("E5OPS_EVIDENCE_KEY", str(keys.private))
    monkeypatch.setenv("E5OPS_EVIDENCE_DIR", str(evidence))
    before = time.time()
    drill = run_playbook(
        project=project,
        playbook="playbooks/alert_drill.yml",
        inventory=deployed["inventory"],
        extravars={
            "alert_drill_fire_timeout": FIRE_TIMEOUT,
            "alert_drill_resolve_timeout": RESOLVE_TIMEOUT,
        },
        step="02",
        record=True,
    )
    after = time.time()
    assert drill.ok, drill.failures
    # Stopping and starting node_exporter is the drill itself; it leaves the
    # host as it found it and reports no change.
    assert drill.changed == 0, [t for t in drill.tasks if t.changed]
    published = drill.published
    assert published["alert_delivered"] is True, published
    assert published["alert_drill"]["alert"] == "HostDown"
    assert published["alert_drill"]["target"] == "web1"
    assert published["alert_drill"]["receiver"] == "lab-recorder"
    assert published["alert_drill"]["method"] == "recorder"
    assert published["alert_drill"]["notifications_failed"] == 0
    assert published["alert_drill"]["notifications_sent"] >= 2
    fire, resolve = published["alert_fire_seconds"], published["alert_resolve_seconds"]
    # The rule waits a minute before firing: a quicker alert did not come from it.
    assert 60 <= fire <= FIRE_TIMEOUT
    assert 0 < resolve <= RESOLVE_TIMEOUT

    # The published latencies are those of the notifications the recorder
    # logged on mon1 while the drill ran.
    log = read_on_host(
        project, deployed["inventory"], "mon1", "/var/lib/e5ops-alert-recorder/alerts.jsonl"
    )
    logged = [json.loads(line) for line in log.splitlines()]
    drill_web1 = [
        a
        for a in logged
        if (a["alertname"], a["instance"]) == ("HostDown", "web1") and before <= a["received"]
    ]
    fired = next(a for a in drill_web1 if a["status"] == "firing")
    resolved = next(a for a in drill_web1 if a["status"] == "resolved")
    assert before <= fired["received"] < resolved["received"] <= after
    stopped_at = fired["received"] - fire
    restarted_at = resolved["received"] - resolve
    assert before - 0.1 <= stopped_at <= fired["received"] - 60
    assert fired["received"] - 0.1 <= restarted_at <= resolved["received"]

    records = EvidenceStore(evidence).records()
    assert [r.name for r in records] == ["02_operations_infrastructure"]
    run = records[0].record["run"]
    assert run["playbook"] == "playbooks/alert_drill.yml"
    assert run["published"] == published
    verified = subprocess.run(
        [
            str(project / ".venv/bin/e5ops"),
            "evidence",
            "verify",
            str(evidence),
            "--key",
            keys.public,
        ],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr

    measured = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "alert": "HostDown",
        "host": "web1",
        "stop_to_firing_seconds": fire,
        "start_to_resolved_seconds": resolve,
        "evidence": records[0].name,
        "first_playbook_run_seconds": round(deployed["first_run_seconds"], 1),
    }
    out = project / ".e5ops" / "measurements" / "monitoring_alert_round_trip.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(measured, indent=2) + "\n")
    print(json.dumps(measured))  # noqa: T201 - the measurement, shown with -s


def test_bad_input_is_refused_and_the_running_configuration_stays(deployed, project, tmp_path):
    extravars = dict(deployed["extravars"])
    for spoiled in (
        "monitoring_scrape_ca_cert",
        "monitoring_alertmanager_routes",
        "monitoring_rules_extra",
    ):
        extravars.pop(spoiled, None)
    extravars["monitoring_test_ca_cert"] = deployed["extravars"]["monitoring_scrape_ca_cert"]
    extravars["monitoring_bad_input_report"] = str(tmp_path / "bad_input.json")
    result = run_playbook(
        project=project,
        playbook="tests/integration/playbooks/monitoring_bad_input.yml",
        inventory=deployed["inventory"],
        limit="mon1",
        extravars=extravars,
        record=False,
    )
    assert result.ok, result
    report = json.loads((tmp_path / "bad_input.json").read_text())
    cases = {case["case"]: case for case in report["cases"]}
    assert all(case["failed"] for case in cases.values()), cases

    no_tls = cases["scrape target without TLS material"]
    assert no_tls["task"].startswith("Assert")
    assert "monitoring_scrape_ca_cert" in no_tls["message"]
    assert "lb1" in no_tls["message"]

    unknown = cases["unknown alert receiver"]
    assert unknown["task"].startswith("Assert")
    assert "Unknown alert receiver nobody" in unknown["message"]

    bad_rule = cases["rule that does not parse"]
    assert bad_rule["task"] == "Write the extra rules"
    assert "/etc/prometheus/rules/e5ops-extra.rules.yml: " in bad_rule["message"]
    assert "could not parse expression" in bad_rule["message"]

    assert report["before"] == report["after"]
    # Prometheus still runs the shipped rules and has no trace of the broken one.
    groups = get_json(f"{PROMETHEUS}/api/v1/rules")["data"]["groups"]
    assert "broken" not in {group["name"] for group in groups}
    assert any(g["file"] == "/etc/prometheus/rules/e5ops.rules.yml" for g in groups)


@pytest.mark.usefixtures("deployed")
def test_metrics_the_dashboards_and_rules_name_are_exported_in_the_lab():
    # The unit test checks names against a list; this checks the list against
    # the real exporters. e5ops_* metrics of roles not run here are left out.
    spec = importlib.util.spec_from_file_location(
        "dashboards", Path(__file__).parents[1] / "unit" / "monitoring" / "test_dashboards.py"
    )
    assert spec
    assert spec.loader
    dashboards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dashboards)
    named = set()
    for path in dashboards.DASHBOARDS:
        for _, expr in dashboards.dashboard_queries(path):
            named |= dashboards.metric_names(expr)
    for _, expr in dashboards.rule_queries():
        named |= dashboards.metric_names(expr)
    exported = set(get_json(f"{PROMETHEUS}/api/v1/label/__name__/values")["data"])
    expected = {name for name in named if not name.startswith(("e5ops_backup", "e5ops_release"))}
    assert expected - exported == set()
