import pytest

from e5ops.gates.checks import CHECKS, RunView


def view(
    name,
    *,
    playbook="playbooks/deploy.yml",
    status="successful",
    changed=0,
    check=False,
    published=None,
    complete=True,
    failures=0,
    unreachable=0,
):
    hosts = {
        "web1": {
            "ok": 3,
            "changed": changed,
            "failures": failures,
            "unreachable": unreachable,
            "skipped": 0,
            "rescued": 0,
            "ignored": 0,
        },
    }
    run = {
        "playbook": playbook,
        "status": status,
        "check": check,
        "hosts": hosts,
        "published": published or {},
    }
    return RunView(name, complete, run)


def run(check, runs, **params):
    return CHECKS[check](runs, params)


def test_playbook_succeeded_reads_the_latest_complete_run():
    assert run("playbook_succeeded", [view("a")], playbook="playbooks/deploy.yml").passed
    failed = run(
        "playbook_succeeded",
        [view("a"), view("b", status="failed", failures=1)],
        playbook="playbooks/deploy.yml",
    )
    assert not failed.passed
    assert failed.evidence == ("b",)
    assert "failed on web1" in failed.detail
    # An incomplete attempt does not count, either way.
    assert run(
        "playbook_succeeded",
        [view("a"), view("b", status="incomplete", complete=False)],
        playbook="playbooks/deploy.yml",
    ).passed
    assert not run("playbook_succeeded", [], playbook="playbooks/deploy.yml").passed


def test_idempotent_rerun_needs_a_second_run_without_changes():
    pb = "playbooks/deploy.yml"
    assert not run("idempotent_rerun", [view("a", changed=3)], playbook=pb).passed
    assert not run(
        "idempotent_rerun", [view("a", changed=3), view("b", changed=1)], playbook=pb
    ).passed
    outcome = run("idempotent_rerun", [view("a", changed=3), view("b")], playbook=pb)
    assert outcome.passed
    assert outcome.evidence == ("a", "b")


def test_no_drift_reads_check_mode_runs_only():
    pb = "playbooks/site.yml"
    assert not run("no_drift", [view("a", playbook=pb)], playbook=pb).passed
    assert run("no_drift", [view("a", playbook=pb, check=True)], playbook=pb).passed
    drift = run("no_drift", [view("a", playbook=pb, check=True, changed=2)], playbook=pb)
    assert not drift.passed
    assert "2 task(s) would change" in drift.detail


@pytest.mark.parametrize(
    ("value", "passed"), [("A+", True), ("A", True), ("A-", False), ("B", False), ("Z", False)]
)
def test_tls_grade_at_least(value, passed):
    assert (
        run("tls_grade_at_least", [view("a", published={"tls_grade": value})], grade="A").passed
        is passed
    )


def test_failed_requests_at_most():
    assert run(
        "failed_requests_at_most", [view("a", published={"failed_requests": 0})], max=0
    ).passed
    assert not run(
        "failed_requests_at_most", [view("a", published={"failed_requests": 3})], max=0
    ).passed
    assert not run("failed_requests_at_most", [view("a")], max=0).passed


def test_metric_within_bounds_and_latest_value_wins():
    runs = [
        view("a", published={"rollback_seconds": 90}),
        view("b", published={"rollback_seconds": 12}),
    ]
    assert run("metric_within", runs, metric="rollback_seconds", max=60).passed
    assert not run("metric_within", runs, metric="rollback_seconds", min=20).passed
    assert not run("metric_within", [view("a", published={"x": "many"})], metric="x", max=1).passed
    assert not run("metric_within", [view("a", published={"x": True})], metric="x", max=1).passed


def test_backup_restored_and_published_true_need_a_real_true():
    assert run("backup_restored", [view("a", published={"restore_verified": True})]).passed
    assert not run("backup_restored", [view("a", published={"restore_verified": "true"})]).passed
    assert not run("published_true", [view("a")], metric="alert_delivered").passed


def test_no_failed_hosts_looks_at_each_playbooks_latest_run():
    runs = [
        view("a", failures=1),
        view("b"),
        view("c", playbook="playbooks/tls.yml", unreachable=1),
    ]
    outcome = run("no_failed_hosts", runs)
    assert not outcome.passed
    assert "playbooks/tls.yml: web1" in outcome.detail
    assert run("no_failed_hosts", runs[:2]).passed


def test_parameters_are_checked():
    assert CHECKS["metric_within"].parameter_problem({"metric": "x"}) == (
        "check metric_within needs min, max or both"
    )
    assert "needs the parameter(s) playbook" in CHECKS["playbook_succeeded"].parameter_problem({})
    assert "takes no parameter colour" in CHECKS["no_failed_hosts"].parameter_problem({"colour": 1})
    assert "is not one of" in CHECKS["tls_grade_at_least"].parameter_problem({"grade": "A++"})


def test_a_metric_can_be_a_dotted_path_into_published_values():
    nested = {"e5ops_evidence": {"restore_drill": {"backup1": {"verified": True, "seconds": 41}}}}
    runs = [view("a", published=nested)]
    assert run(
        "published_true", runs, metric="e5ops_evidence.restore_drill.backup1.verified"
    ).passed
    assert run(
        "metric_within", runs, metric="e5ops_evidence.restore_drill.backup1.seconds", max=60
    ).passed
    assert not run(
        "published_true", runs, metric="e5ops_evidence.restore_drill.web9.verified"
    ).passed


def test_a_wildcard_path_must_hold_on_every_host():
    published = {
        "e5ops_evidence": {
            "restore_drill": {"web1": {"ok": True}, "web2": {"ok": True}},
            "audit": {"web1": {"index": 71}, "web2": {"index": 58}},
            "tls": {"lb1": {"grade": "A+"}, "lb2": {"grade": "A"}},
        }
    }
    runs = [view("a", published=published)]
    assert run("published_true", runs, metric="e5ops_evidence.restore_drill.*.ok").passed
    assert run("metric_within", runs, metric="e5ops_evidence.audit.*.index", min=55).passed
    below = run("metric_within", runs, metric="e5ops_evidence.audit.*.index", min=60)
    assert not below.passed
    assert "[71, 58]" in below.detail
    assert run("tls_grade_at_least", runs, metric="e5ops_evidence.tls.*.grade", grade="A").passed
    worst = run("tls_grade_at_least", runs, metric="e5ops_evidence.tls.*.grade", grade="A+")
    assert not worst.passed
    assert "grade A is below A+" in worst.detail
    # One host that did not verify fails the whole criterion.
    published["e5ops_evidence"]["restore_drill"]["web2"]["ok"] = False
    runs = [view("b", published=published)]
    assert not run("published_true", runs, metric="e5ops_evidence.restore_drill.*.ok").passed
    # A wildcard that matches nothing was never published.
    nothing = run("published_true", runs, metric="e5ops_evidence.nowhere.*.ok")
    assert not nothing.passed
    assert "never published" in nothing.detail
