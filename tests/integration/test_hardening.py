"""The hardening role on three real lab hosts, reached over SSH from this machine.

The lockout guard is real here: the controller running the tests is the one
that would be locked out. Each guard test pushes a configuration that would
shut the controller out and checks that the role puts the old one back, fails
loudly, and that a fresh SSH login works afterwards.

Needs podman, runc and the lab image (`make test` installs and builds them);
without them the tests fail, they do not skip. Timings of the cold converge
and the idempotent rerun are written to .e5ops/measurements/hardening.json.
"""

import json
import subprocess

import pytest

from e5ops.lab import Lab, LabConfig
from e5ops.runner import RunResult, run_playbook

pytestmark = pytest.mark.lab

LAB = "hard-t"
SUBNET = "10.231.52.0/24"
CONTROLLER = "10.231.52.1"
HOSTS = ("lb1", "web1", "mon1")
POLICY = "Hardened Debian 12 (version 3)"


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name=LAB, subnet=SUBNET))
    lab.down()
    try:
        # Generous: on a loaded CI machine three systemd hosts take minutes to boot.
        lab.up(HOSTS, boot_timeout=600)
        yield lab
    finally:
        lab.down()


@pytest.fixture(scope="module")
def inventory(lab):
    return lab.config.inventory_dir / "hosts.yml"


@pytest.fixture(scope="module")
def published():
    """Custom stats of each run, by a name the tests choose."""
    return {}


def run(project, inventory, playbook, **kwargs) -> RunResult:
    return run_playbook(project=project, playbook=playbook, inventory=inventory, **kwargs)


def stats_of(result: RunResult) -> dict:
    """Return what the run published with set_stats (the playbook_on_stats event)."""
    assert result.artifact_dir is not None
    for path in sorted((result.artifact_dir / "job_events").glob("*.json")):
        event = json.loads(path.read_text())
        if event.get("event") == "playbook_on_stats":
            return event["event_data"].get("artifact_data") or {}
    return {}


def fresh_login(lab, host: str) -> subprocess.CompletedProcess:
    """Log in over SSH from scratch (no shared connection), as the guard does."""
    address = next(h.address for h in lab.hosts() if h.name == host)
    state = lab.config.state
    return subprocess.run(
        [
            "ssh",
            "-o",
            "ControlPath=none",
            "-o",
            "BatchMode=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            f"UserKnownHostsFile={state / 'known_hosts'}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-i",
            str(state / "id_ed25519"),
            f"deploy@{address}",
            "sudo",
            "-n",
            "sshd",
            "-T",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("extravars", "variable"),
    [
        ({"hardening_sssh_enabled": False}, "hardening_sssh_enabled"),
        (
            {
                "hardening_firewall_rules": [
                    {"name": "web", "hosts_in": ["all"], "ports": ["80/tpc"]}
                ]
            },
            "80/tpc",
        ),
        (
            {
                "hardening_firewall_rules": [
                    {"name": "x", "hosts_in": ["all"], "ports": ["0-70000/tcp"]}
                ]
            },
            "0-70000/tcp",
        ),
        ({"hardening_admin_cidrs": ["192.0.2.0/24"]}, "hardening_admin_cidrs"),
        ({"hardening_admin_cidrs": ["10.231.52.300/24"]}, "hardening_admin_cidrs"),
    ],
)
def test_bad_input_is_refused_before_anything_changes(project, inventory, extravars, variable):
    result = run(project, inventory, "playbooks/harden.yml", limit="web1", extravars=extravars)
    assert not result.ok
    assert result.changed == 0
    messages = " ".join(failure.message for failure in result.failures)
    assert variable in messages, messages


def test_lynis_index_before_hardening(project, inventory, published):
    result = run(
        project,
        inventory,
        "playbooks/hardening_audit.yml",
        limit="web1",
        extravars={"hardening_audit_label": "before"},
    )
    assert result.ok, result.failures
    audit = stats_of(result)["e5ops_evidence"]["hardening_audit"]["web1"]["before"]
    published["before"] = audit
    assert audit["lynis"]["hardening_index"] > 0
    assert audit["ssh_audit"]["compliant"] is False


def test_cold_converge_then_a_rerun_changes_nothing(project, inventory, published):
    cold = run(project, inventory, "playbooks/harden.yml")
    assert cold.ok, cold.failures
    assert all(stats.changed > 0 for stats in cold.hosts.values())
    published["converge"] = stats_of(cold)["e5ops_evidence"]["hardening"]

    again = run(project, inventory, "playbooks/harden.yml")
    assert again.ok, again.failures
    assert {host: stats.changed for host, stats in again.hosts.items()} == dict.fromkeys(HOSTS, 0)

    measurements = project / ".e5ops" / "measurements"
    measurements.mkdir(parents=True, exist_ok=True)
    (measurements / "hardening.json").write_text(
        json.dumps(
            {
                "hosts": list(HOSTS),
                "cold_converge_s": round(cold.seconds, 1),
                "idempotent_rerun_s": round(again.seconds, 1),
            },
            indent=2,
        )
    )


def test_evidence_lists_every_control_with_waivers_and_reasons(published):
    for host in HOSTS:
        record = published["converge"][host]
        status = {control["id"]: control for control in record["controls"]}
        assert len(status) == record["applied"] + record["waived"] >= 20
        assert record["controller_address"] == CONTROLLER
        assert record["admin_cidrs"] == [f"{CONTROLLER}/32"]
        assert record["lockout_guard_proven"] == ["ssh (ssh)", "firewall (ssh)"]
        assert status["HRD-SSH-03"]["status"] == "applied"
        assert status["HRD-SSH-03"]["cis"]
        # Inside a container: no audit, no global kernel parameters; said so.
        assert status["HRD-AUD-01"]["status"] == "waived"
        assert "CAP_AUDIT_CONTROL" in status["HRD-AUD-01"]["reason"]
        assert status["HRD-SYS-02"]["status"] == "waived"
        assert "kernel.randomize_va_space" in status["HRD-SYS-02"]["reason"]


def test_ssh_audit_policy_passes_on_every_host_and_lynis_rises(project, inventory, published):
    ssh_only = run(
        project,
        inventory,
        "playbooks/hardening_audit.yml",
        limit="lb1:mon1",
        extravars={"hardening_audit_lynis_enabled": False},
    )
    with_lynis = run(project, inventory, "playbooks/hardening_audit.yml", limit="web1")
    assert ssh_only.ok, ssh_only.failures
    assert with_lynis.ok, with_lynis.failures
    audits = {
        **stats_of(ssh_only)["e5ops_evidence"]["hardening_audit"],
        **stats_of(with_lynis)["e5ops_evidence"]["hardening_audit"],
    }
    for host in HOSTS:
        ssh_audit = audits[host]["after"]["ssh_audit"]
        assert ssh_audit["policy"] == POLICY
        assert ssh_audit["compliant"] is True, ssh_audit["errors"]
    after = audits["web1"]["after"]["lynis"]["hardening_index"]
    before = published["before"]["lynis"]["hardening_index"]
    assert after > before
    measurements = project / ".e5ops" / "measurements" / "hardening.json"
    figures = json.loads(measurements.read_text()) if measurements.is_file() else {}
    suggestions = audits["web1"]["after"]["lynis"]["suggestions"]
    figures.update(
        {"lynis_index_before": before, "lynis_index_after": after, "lynis_after": suggestions}
    )
    measurements.write_text(json.dumps(figures, indent=2))


def test_firewall_admits_ports_by_group_membership(project, inventory):
    result = run(project, inventory, "tests/integration/playbooks/hardening_reachability.yml")
    assert result.ok, result.failures
    reach = stats_of(result)["reachability"]
    assert reach == {
        "lb1->8080": True,  # web tier from the load balancer
        "mon1->8080": True,  # the monitoring host's blackbox probes of each health URL
        "controller->8080": False,
        "mon1->9100": True,  # node_exporter from the monitoring host
        "lb1->9100": False,
        "controller->9100": False,
    }


def test_ssh_guard_restores_access_after_a_lockout_config(lab, project, inventory):
    result = run(
        project,
        inventory,
        "playbooks/harden.yml",
        limit="web1",
        extravars={"hardening_ssh_allow_users": ["someone-else"]},
    )
    assert not result.ok
    assert result.hosts["web1"].rescued == 1
    messages = " ".join(failure.message for failure in result.failures)
    assert "LOCKOUT GUARD" in messages
    assert "put back" in messages
    login = fresh_login(lab, "web1")
    assert login.returncode == 0, login.stderr
    assert "allowusers" not in login.stdout


def test_firewall_guard_restores_access_after_a_lockout_ruleset(lab, project, inventory):
    # The preflight believes the controller is at 192.0.2.10 and lets the
    # admin CIDRs pass; the ruleset then drops the real controller.
    result = run(
        project,
        inventory,
        "playbooks/harden.yml",
        limit="web1",
        extravars={
            "hardening_controller_address": "192.0.2.10",
            "hardening_admin_cidrs": ["192.0.2.0/24"],
        },
    )
    assert not result.ok
    assert result.hosts["web1"].rescued == 1
    messages = " ".join(failure.message for failure in result.failures)
    assert "LOCKOUT GUARD" in messages
    assert "firewall" in messages
    login = fresh_login(lab, "web1")
    assert login.returncode == 0, login.stderr
    check = run(project, inventory, "playbooks/harden.yml", limit="web1", check=True)
    assert check.ok, check.failures
    assert check.changed == 0
