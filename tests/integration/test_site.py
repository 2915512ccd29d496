"""The whole stack after the pipeline: site.yml's results, validate.yml and scale.yml.

Lab `stack` (10.231.92.0/24, the `stack` fixture of conftest.py): lb1,
web1-web3, mon1, backup1 and ca1 taken from bare hosts to a decision by one
cold `e5ops pipeline` run, which converged them with site.yml, checked for
drift, and added web4 with scale.yml in step 03. test_pipeline.py asserts on
the runs' records; these tests go on from the lab the pipeline left: the
services up, validate.yml's figures as step 04 recorded them, validate.yml
naming a backend that stopped, scale.yml refusing a host it does not know,
the scale-out's figures and a second scale.yml run changing nothing.

The figures are printed and written to .e5ops/labs/stack/results.json. Needs
podman, runc and the lab image; without them the tests fail, they do not skip.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from labstack import runs

from e5ops.runner import RunResult, run_playbook

pytestmark = pytest.mark.lab

MON1 = "10.231.92.100"
WEB = ("web1", "web2", "web3", "web4")  # web4 joined in step 03
WEB4 = "10.231.92.23"
RESULTS: dict[str, object] = {}


def changed_tasks(result: RunResult) -> list[tuple[str, str]]:
    return [(task.host, task.task) for task in result.tasks if task.changed]


def run(stack, playbook, **options) -> RunResult:
    result = run_playbook(
        project=stack.lab.config.project,
        playbook=playbook,
        inventory=stack.inventory,
        record=False,
        **options,
    )
    RESULTS[f"{playbook}{' --check' if options.get('check') else ''} #{len(RESULTS)}"] = round(
        result.seconds, 1
    )
    (stack.lab.config.state / "results.json").write_text(json.dumps(RESULTS, indent=2))
    return result


def on(stack, host, *command, check=True):
    """Run a command as root inside a lab host (a probe or a fault, beside Ansible)."""
    return stack.lab.podman.exec(stack.lab.config.container(host), *command, check=check)


def test_the_pipeline_left_every_service_running(stack):
    assert stack.cold.returncode == 0, "the pipeline failed; see test_pipeline.py"
    for host in WEB:
        assert on(stack, host, "systemctl", "is-active", "demo-app").stdout.strip() == "active"
    assert on(stack, "lb1", "systemctl", "is-active", "haproxy").stdout.strip() == "active"
    for service in ("prometheus", "prometheus-alertmanager", "prometheus-blackbox-exporter"):
        assert on(stack, "mon1", "systemctl", "is-active", service).stdout.strip() == "active"


def test_validate_passed_in_step_04_and_published_its_figures(stack):
    assert stack.cold.returncode == 0, "the pipeline failed; see test_pipeline.py"
    (validate,) = runs(stack, "04", "playbooks/validate.yml")
    assert validate["status"] == "successful"
    published = validate["published"]
    assert published["validate_ok"] is True
    assert published["validate_problems"] == []
    assert published["https_through_lb_ok"] is True
    assert published["backends_total"] == len(WEB)
    assert published["backends_healthy"] == len(WEB)
    assert published["backends_in_service"] == len(WEB)
    assert sorted(published["backends_seen"]) == list(WEB)
    assert published["backends_serving_ratio"] == 1.0
    assert published["scrape_targets_up_ratio"] == 1.0
    assert published["monitoring_agents_down"] == 0
    assert published["alerts_firing"] == 0
    assert published["backups_missing"] == []
    assert 0 <= published["backup_age_seconds_max"] < 26 * 3600


def test_validate_names_a_stopped_backend(stack):
    on(stack, "web2", "systemctl", "stop", "demo-app")
    try:
        result = run(stack, "playbooks/validate.yml", extravars={"validate_retries": 1})
    finally:
        on(stack, "web2", "systemctl", "start", "demo-app")
    assert not result.ok
    problems = result.published["validate_problems"]
    assert any("backend health URL failing" in p and "web2" in p for p in problems), problems
    assert any("not in service" in p and "web2" in p for p in problems), problems
    assert result.published["backends_serving_ratio"] == 1.0  # of those still in service
    assert result.published["backends_in_service"] == len(WEB) - 1
    message = " ".join(f.message for f in result.failures)
    assert "Validation failed" in message
    assert "web2" in message


def test_scale_out_put_web4_in_service_and_a_second_run_changes_nothing(stack):
    assert stack.cold.returncode == 0, "the pipeline failed; see test_pipeline.py"
    refused = run(stack, "playbooks/scale.yml", extravars={"scale_hosts": "web9"})
    assert not refused.ok
    assert any("scale_hosts" in f.message for f in refused.failures)

    (scaled,) = runs(stack, "03", "playbooks/scale.yml")
    assert scaled["status"] == "successful"
    published = scaled["published"]
    seconds = published["scale_out_seconds"]
    RESULTS["scale_out_seconds"] = seconds
    print(f"\nweb4 in service after {seconds} s")  # noqa: T201
    assert 0 < seconds <= scaled["seconds"]
    assert published["scale_out_hosts"] == ["web4"]
    assert published["scale_out_backends"] == dict.fromkeys(WEB, "UP")
    # Only web4 and the hosts that name it ran.
    assert set(scaled["hosts"]) - {"localhost"} == {"web4", "lb1", "mon1", "backup1", "ca1"}
    with urllib.request.urlopen(  # a lab address
        f"http://{MON1}:9090/api/v1/targets?state=active", timeout=10
    ) as answer:
        targets = json.load(answer)["data"]["activeTargets"]
    assert {t["labels"]["instance"] for t in targets if t["labels"]["job"] == "node"} >= {"web4"}
    assert f"http://{WEB4}:8080/healthz" in {t["labels"]["instance"] for t in targets}

    again = run(stack, "playbooks/scale.yml", extravars={"scale_hosts": "web4"})
    assert again.ok, again.failures
    assert changed_tasks(again) == []
