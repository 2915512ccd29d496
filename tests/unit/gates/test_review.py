from datetime import date

import pytest

from e5ops.cli import main
from e5ops.errors import DecisionError, UsageError, VerificationError
from e5ops.evidence import step
from e5ops.evidence.keys import create_key
from e5ops.evidence.session import EvidenceConfig
from e5ops.gates.review import assess, authorize, define_scope, open_verified_store, review_gate
from e5ops.gates.scope import load_scope

SCOPE = """\
environment: lab
inventory: inventories/lab
gates:
  01a:
    criteria:
      - id: deploy
        description: Deployment automation functional
        check: playbook_succeeded
        params: {playbook: playbooks/deploy.yml}
        severity: critical
      - id: https
        description: HTTPS configuration properly implemented
        check: tls_grade_at_least
        params: {grade: A}
        severity: critical
  02a:
    criteria:
      - id: backup
        description: Backup procedures implemented
        check: backup_restored
        severity: critical
  03a:
    criteria:
      - id: lb
        description: Load balancing operational
        check: metric_within
        params: {metric: backends_serving_ratio, min: 1.0}
        severity: critical
  04a:
    criteria:
      - id: requests
        description: Component integration quality acceptable
        check: failed_requests_at_most
        params: {max: 0}
        severity: critical
waivers:
  - criterion: https
    reason: the public certificate is issued next week
    approver: Grace Hopper
    expires: 2030-06-30
"""


def run_body(playbook, published, status="successful"):
    stats = {
        "ok": 2,
        "changed": 0,
        "failures": 0 if status == "successful" else 1,
        "unreachable": 0,
        "skipped": 0,
        "rescued": 0,
        "ignored": 0,
    }
    return {
        "run": {
            "playbook": playbook,
            "inventory": "inventories/lab",
            "limit": None,
            "tags": None,
            "check": False,
            "status": status,
            "rc": 0 if status == "successful" else 2,
            "started": "2026-01-01T00:00:00+00:00",
            "ended": "2026-01-01T00:00:01+00:00",
            "seconds": 1.0,
            "hosts": {"web1": stats},
            "tasks": [],
            "published": published,
        }
    }


@pytest.fixture
def store(tmp_path):
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    config = EvidenceConfig(base=tmp_path, directory=tmp_path / "e5", key=keys.private)
    scope_file = tmp_path / "scope.yml"
    scope_file.write_text(SCOPE)
    store = open_verified_store(config)
    define_scope(store, load_scope(scope_file))
    return store, config


def record_runs(store, *, tls="B", restored=True, ratio=1.0, failed_requests=0):
    store.write(
        step=step("01"),
        body=run_body("playbooks/deploy.yml", {"tls_grade": tls}),
        subjects=[],
        recorder="runner",
    )
    store.write(
        step=step("02"),
        body=run_body("playbooks/backup.yml", {"restore_verified": restored}),
        subjects=[],
        recorder="runner",
    )
    store.write(
        step=step("03"),
        body=run_body("playbooks/scale.yml", {"backends_serving_ratio": ratio}),
        subjects=[],
        recorder="runner",
    )
    store.write(
        step=step("04"),
        body=run_body("playbooks/validate.yml", {"failed_requests": failed_requests}),
        subjects=[],
        recorder="runner",
    )


def test_a_waived_failure_is_warned_and_the_gate_conditional(store):
    store, _ = store
    record_runs(store)
    review = review_gate(store, "01a", today=date(2030, 1, 1)).record["review"]
    assert [c["verdict"] for c in review["criteria"]] == ["PASSED", "WARNED"]
    assert review["verdict"] == "CONDITIONAL"
    assert review["criteria"][1]["waiver"]["approver"] == "Grace Hopper"
    assert review["evidence"] == ["01_production_deployment_automation"]


def test_an_expired_waiver_fails_the_gate(store):
    store, _ = store
    record_runs(store)
    review = review_gate(store, "01a", today=date(2030, 7, 1)).record["review"]
    assert review["verdict"] == "FAIL"
    assert "expired on 2030-06-30" in review["criteria"][1]["detail"]


def test_all_passed_is_pass_and_proceed_then_authorize(store):
    store, _ = store
    record_runs(store, tls="A+")
    for gate in ("01a", "02a", "03a", "04a"):
        assert review_gate(store, gate).record["review"]["verdict"] == "PASS"
    assessment = assess(store).record["assessment"]
    assert assessment["recommendation"] == "PROCEED"
    decision = authorize(store, approver="Ada Lovelace", decision="authorize").record["decision"]
    assert decision["decision"] == "AUTHORIZE"
    assert decision["assessment"]["record"] == "05_e5_technical_assessment"
    names = [r.name for r in store.records()]
    assert names[-6:] == [
        "01a_production_deployment_gate_review",
        "02a_operations_infrastructure_gate_review",
        "03a_production_environment_gate_review",
        "04a_integration_gate_review",
        "05_e5_technical_assessment",
        "06_e5_authorization_decision",
    ]


def test_a_waiver_makes_the_assessment_conditional(store):
    store, _ = store
    record_runs(store)
    for gate in ("01a", "02a", "03a", "04a"):
        review_gate(store, gate, today=date(2030, 1, 1))
    assessment = assess(store).record["assessment"]
    assert assessment["recommendation"] == "CONDITIONAL"
    assert any("waived by Grace Hopper" in r for r in assessment["reasons"])
    with pytest.raises(DecisionError, match="needs its conditions"):
        authorize(store, approver="Ada Lovelace", decision="conditional")
    decision = authorize(
        store, approver="Ada Lovelace", decision="conditional", conditions="certificate by Friday"
    )
    assert decision.record["decision"]["conditions"] == "certificate by Friday"


def test_a_failed_or_missing_gate_denies_and_authorize_is_refused(store):
    store, _ = store
    record_runs(store, restored=False)
    review_gate(store, "02a")
    assessment = assess(store).record["assessment"]
    assert assessment["recommendation"] == "DENY"
    assert "gate 01a was never reviewed" in assessment["reasons"]
    assert any(r.startswith("02a backup FAILED (critical)") for r in assessment["reasons"])
    with pytest.raises(DecisionError, match="AUTHORIZE refused"):
        authorize(store, approver="Ada Lovelace", decision="authorize")
    assert (
        authorize(store, approver="Ada Lovelace", decision="deny").record["decision"]["decision"]
        == "DENY"
    )


def test_a_new_attempt_is_what_the_gate_reads(store):
    store, _ = store
    record_runs(store, restored=False)
    assert review_gate(store, "02a").record["review"]["verdict"] == "FAIL"
    store.write(
        step=step("02"),
        body=run_body("playbooks/backup.yml", {"restore_verified": True}),
        subjects=[],
        recorder="runner",
    )
    second = review_gate(store, "02a")
    assert second.name == "02a_operations_infrastructure_gate_review.attempt-2"
    assert second.record["review"]["verdict"] == "PASS"
    assert second.record["review"]["evidence"] == ["02_operations_infrastructure.attempt-2"]


def test_without_a_scope_there_is_nothing_to_review(tmp_path):
    keys = create_key(private=tmp_path / "evidence.key")
    store = open_verified_store(
        EvidenceConfig(base=tmp_path, directory=tmp_path / "e5", key=keys.private)
    )
    with pytest.raises(UsageError, match="no scope is recorded"):
        review_gate(store, "01a")


def test_decisions_are_refused_on_tampered_evidence(store):
    store, config = store
    record_runs(store)
    twin = store.records()[1].files[1]
    twin.chmod(0o644)
    twin.write_text(twin.read_text().replace('"B"', '"A+"'))
    with pytest.raises(VerificationError, match=twin.name):
        open_verified_store(config)


def test_cli_gate_assess_authorize_exit_codes(store, monkeypatch, capsys):
    store, config = store
    record_runs(store, tls="A")
    monkeypatch.setenv("E5OPS_EVIDENCE_KEY", str(config.key))
    directory = ["--evidence-dir", str(config.directory)]
    for number in ("1", "2", "3", "4"):
        assert main(["gate", number, *directory]) == 0
    assert main(["assess", *directory]) == 0
    code = main(["authorize", "--approver", "Ada", "--decision", "conditional", *directory])
    assert code == 2
    assert "needs its conditions" in capsys.readouterr().err
    assert main(["authorize", "--approver", "Ada", "--decision", "authorize", *directory]) == 0
