"""The shipped alert rules: valid, each one unit-tested with `promtool test rules`.

Needs promtool on the controller (Debian's prometheus, listed in
scripts/packages/monitoring.txt); without it the tests fail, they do not skip.
"""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
ROLE = HERE.parents[2] / "roles" / "monitoring"
RULES = ROLE / "files" / "etc" / "prometheus" / "rules" / "e5ops.rules.yml"
RULE_TESTS = HERE / "rules_test.yml"
CHECKER = ROLE / "files" / "usr" / "local" / "lib" / "e5ops" / "check-prometheus-file"

REQUIRED_ALERTS = {
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


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    assert path, "promtool is missing: apt-get install prometheus (scripts/packages/monitoring.txt)"
    return path


def alerts_in_rules() -> set[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_the_role_ships_every_required_alert():
    assert alerts_in_rules() == REQUIRED_ALERTS


def test_every_alert_has_unit_tests():
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert tested == alerts_in_rules()
    # Each alert is shown to fire at least once, not only to stay quiet.
    firing = {
        case["alertname"]
        for test in tests
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert firing == alerts_in_rules()


def test_rules_file_is_valid(promtool):
    result = subprocess.run(
        [promtool, "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(REQUIRED_ALERTS)} rules found" in result.stdout


def test_rule_unit_tests_pass(promtool):
    result = subprocess.run(
        [promtool, "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=HERE,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_a_unit_test_with_a_wrong_expectation_fails(promtool, tmp_path):
    # The harness can fail: a HostDown expected for a host that is up.
    tests = yaml.safe_load(RULE_TESTS.read_text())
    tests["rule_files"] = [str(RULES)]
    tests["tests"] = [tests["tests"][0]]
    tests["tests"][0]["alert_rule_test"][0]["exp_alerts"] = [
        {"exp_labels": {"severity": "page", "job": "node", "instance": "web2"}}
    ]
    broken = tmp_path / "rules_test.yml"
    broken.write_text(yaml.safe_dump(tests))
    result = subprocess.run(
        [promtool, "test", "rules", str(broken)], capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "FAILED" in result.stdout + result.stderr


def test_checker_names_the_live_file_and_line_of_a_bad_rule(promtool, tmp_path):
    candidate = tmp_path / "tmpXYZ-ansible-candidate"
    candidate.write_text(
        "groups:\n"
        "  - name: broken\n"
        "    rules:\n"
        "      - alert: Broken\n"
        '        expr: up{job="node" == 0\n'
    )
    live = "/etc/prometheus/rules/e5ops-extra.rules.yml"
    result = subprocess.run(
        ["sh", str(CHECKER), "rules", live, str(candidate)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": str(Path(promtool).parent) + ":/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert live in result.stderr
    assert str(candidate) not in result.stderr
    assert "5:15" in result.stderr, result.stderr


@pytest.mark.usefixtures("promtool")
def test_checker_passes_the_shipped_rules():
    result = subprocess.run(
        ["sh", str(CHECKER), "rules", "/etc/prometheus/rules/e5ops.rules.yml", str(RULES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
