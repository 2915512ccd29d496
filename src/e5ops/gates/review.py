"""Gate reviews, the technical assessment and the authorization decision, as signed records.

Every decision is read from the evidence, never from anyone's say-so: the
directory is verified first, the criteria come from the recorded scope, and
each criterion's verdict names the records it was measured on.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from e5ops.errors import DecisionError, UsageError, VerificationError
from e5ops.evidence.steps import GATES, step
from e5ops.evidence.store import EvidenceStore, StoredRecord, Subject, sha256_file
from e5ops.evidence.verify import verify_directory
from e5ops.gates.checks import CHECKS, RunView

if TYPE_CHECKING:
    from e5ops.evidence.session import EvidenceConfig
    from e5ops.gates.scope import Scope

PASSED, WARNED, FAILED = "PASSED", "WARNED", "FAILED"
DECISIONS = {"authorize": "AUTHORIZE", "conditional": "CONDITIONAL", "deny": "DENY"}
_SHOWN_PROBLEMS = 5


@dataclass(frozen=True)
class CriterionResult:
    """One criterion's verdict and why."""

    criterion: dict[str, Any]
    verdict: str
    detail: str
    evidence: tuple[str, ...]
    waiver: dict[str, str] | None

    def to_dict(self) -> dict[str, Any]:
        """Return the form written to the gate review record."""
        return {
            "id": self.criterion["id"],
            "description": self.criterion["description"],
            "check": self.criterion["check"],
            "params": self.criterion.get("params") or {},
            "severity": self.criterion["severity"],
            "verdict": self.verdict,
            "detail": self.detail,
            "evidence": list(self.evidence),
            "waiver": self.waiver,
        }


def open_verified_store(config: EvidenceConfig) -> EvidenceStore:
    """Open the evidence directory for a decision, after verifying all of it.

    Raises:
        VerificationError: Anything in the directory does not verify.
        EvidenceError: The signing key cannot be loaded.

    """
    store = config.store()
    if store.directory.is_dir() and store.records():
        assert store.signer is not None  # noqa: S101 - config.store() loads it
        report = verify_directory(store.directory, key=store.signer.public_key)
        if report.problems:
            shown = "; ".join(str(p) for p in report.problems[:_SHOWN_PROBLEMS])
            msg = f"the evidence in {store.directory} does not verify: {shown}"
            raise VerificationError(msg, hint="nothing is decided on evidence that fails to verify")
    return store


def _record_subject(stored: StoredRecord) -> Subject:
    return Subject(name=f"record:{stored.name}", sha256=sha256_file(stored.envelope))


def define_scope(store: EvidenceStore, scope: Scope) -> StoredRecord:
    """Record the scope as step 00; it passes when every gate has measurable criteria."""
    problems = [f"gate {gate} has no criteria" for gate in GATES if gate not in scope.gates]
    body = {
        "scope": {
            "environment": scope.data["environment"],
            "inventory": scope.data["inventory"],
            "description": scope.data.get("description", ""),
            "source": scope.source,
            "text": scope.text,
            "gates": scope.gates,
            "waivers": scope.waivers,
            "checks": {name: CHECKS[name].description for name in sorted(CHECKS)},
            "verdict": "FAIL" if problems else "PASS",
            "problems": problems,
        }
    }
    digest = hashlib.sha256(scope.text.encode()).hexdigest()
    subjects = [Subject(name=f"scope:{scope.source}", sha256=digest)]
    return store.write(step=step("00"), body=body, subjects=subjects, recorder="cli")


def _waiver_for(
    criterion_id: str, waivers: list[dict[str, str]], today: date
) -> tuple[dict[str, str] | None, str]:
    expired = ""
    for waiver in waivers:
        if waiver["criterion"] != criterion_id:
            continue
        if date.fromisoformat(waiver["expires"]) >= today:
            return waiver, ""
        expired = f" (waiver by {waiver['approver']} expired on {waiver['expires']})"
    return None, expired


def evaluate(
    criteria: list[dict[str, Any]],
    runs: list[RunView],
    *,
    waivers: list[dict[str, str]],
    today: date,
) -> list[CriterionResult]:
    """Judge each criterion on the runs: PASSED, FAILED, or WARNED when a live waiver covers it."""
    results = []
    for criterion in criteria:
        outcome = CHECKS[criterion["check"]](runs, criterion.get("params") or {})
        waiver, expired = (
            (None, "") if outcome.passed else _waiver_for(criterion["id"], waivers, today)
        )
        if outcome.passed:
            verdict = PASSED
        elif waiver is not None:
            verdict = WARNED
        else:
            verdict = FAILED
        results.append(
            CriterionResult(criterion, verdict, outcome.detail + expired, outcome.evidence, waiver)
        )
    return results


def gate_verdict(results: list[CriterionResult]) -> str:
    """Return FAIL if anything failed, CONDITIONAL if anything was waived, else PASS."""
    verdicts = {r.verdict for r in results}
    if FAILED in verdicts:
        return "FAIL"
    if WARNED in verdicts:
        return "CONDITIONAL"
    return "PASS"


def _latest_scope(store: EvidenceStore) -> StoredRecord:
    scope = store.latest("00")
    if scope is None:
        msg = "no scope is recorded: the gates have no criteria to review"
        raise UsageError(msg, hint="record it first with `e5ops gate 0`")
    return scope


def review_gate(
    store: EvidenceStore,
    gate: str,
    *,
    waivers: list[dict[str, str]] | None = None,
    today: date | None = None,
    since: int = 0,
) -> StoredRecord:
    """Review one gate (``01a`` to ``04a``) on its step's runs and record the review.

    Args:
        store: The verified evidence directory, with the signing key.
        gate: The gate's key.
        waivers: Waivers granted beside those of the scope.
        today: The date waivers are checked against (today by default).
        since: Review only runs recorded after this sequence number: the
            pipeline reviews the runs of the attempt it just made.

    Raises:
        UsageError: No scope is recorded, or the gate is unknown.

    """
    the_gate = step(gate)
    if the_gate.key not in GATES:
        msg = f"{the_gate.key} is not a gate review step"
        raise UsageError(msg, hint="gates: " + ", ".join(GATES))
    scope_record = _latest_scope(store)
    scope = scope_record.record["scope"]
    spec = scope["gates"].get(the_gate.key)
    if spec is None:
        msg = f"the recorded scope has no criteria for gate {the_gate.key}"
        raise UsageError(msg, hint="add them to the scope file and record it: `e5ops gate 0`")
    reviewed = GATES[the_gate.key]
    run_records = [r for r in store.attempts(reviewed) if r.kind == "run" and r.sequence > since]
    runs = [RunView(r.name, bool(r.record["complete"]), r.record["run"]) for r in run_records]
    all_waivers = [*scope["waivers"], *(waivers or [])]
    results = evaluate(
        spec["criteria"], runs, waivers=all_waivers, today=today or datetime.now(tz=UTC).date()
    )
    used = sorted({name for r in results for name in r.evidence})
    body = {
        "review": {
            "gate": the_gate.key,
            "reviews_step": reviewed,
            "verdict": gate_verdict(results),
            "criteria": [r.to_dict() for r in results],
            "evidence": used,
            "scope": scope_record.name,
            "waivers": all_waivers,
        }
    }
    by_name = {r.name: r for r in run_records}
    subjects = [_record_subject(scope_record)] + [_record_subject(by_name[n]) for n in used]
    return store.write(step=the_gate, body=body, subjects=subjects, recorder="cli")


def assess(store: EvidenceStore) -> StoredRecord:
    """Aggregate the latest review of every gate into PROCEED, CONDITIONAL or DENY."""
    scope_record = _latest_scope(store)
    reasons: list[str] = []
    gates: dict[str, dict[str, Any]] = {}
    subjects = [_record_subject(scope_record)]
    if scope_record.record["scope"]["verdict"] != "PASS":
        reasons.append(
            "the scope is incomplete: " + "; ".join(scope_record.record["scope"]["problems"])
        )
    for gate in GATES:
        latest = store.latest(gate)
        if latest is None:
            gates[gate] = {"verdict": "MISSING", "record": None}
            reasons.append(f"gate {gate} was never reviewed")
            continue
        subjects.append(_record_subject(latest))
        review = latest.record["review"]
        gates[gate] = {"verdict": review["verdict"], "record": latest.name}
        for criterion in review["criteria"]:
            if criterion["verdict"] == FAILED:
                severity, detail = criterion["severity"], criterion["detail"]
                reasons.append(f"{gate} {criterion['id']} FAILED ({severity}): {detail}")
            elif criterion["verdict"] == WARNED:
                waiver = criterion["waiver"]
                reasons.append(
                    f"{gate} {criterion['id']} WARNED: waived by {waiver['approver']} until"
                    f" {waiver['expires']} ({waiver['reason']})"
                )
    verdicts = {g["verdict"] for g in gates.values()}
    scope_failed = scope_record.record["scope"]["verdict"] != "PASS"
    if scope_failed or verdicts & {"FAIL", "MISSING"}:
        recommendation = "DENY"
    elif "CONDITIONAL" in verdicts:
        recommendation = "CONDITIONAL"
    else:
        recommendation = "PROCEED"
        reasons.append("every gate passed on every criterion")
    body = {"assessment": {"recommendation": recommendation, "reasons": reasons, "gates": gates}}
    return store.write(step=step("05"), body=body, subjects=subjects, recorder="cli")


def authorize(
    store: EvidenceStore, *, approver: str, decision: str, conditions: str | None = None
) -> StoredRecord:
    """Record the authorization decision on the latest technical assessment.

    Raises:
        DecisionError: AUTHORIZE over a DENY assessment, CONDITIONAL without
            conditions, an empty approver, or no assessment at all.

    """
    verdict = DECISIONS.get(decision.lower())
    if verdict is None:
        msg = f"the decision must be one of {', '.join(DECISIONS)}, not {decision!r}"
        raise DecisionError(msg)
    if not approver.strip():
        msg = "a decision needs a named approver"
        raise DecisionError(msg, hint="pass --approver 'First Last'")
    assessment = store.latest("05")
    if assessment is None:
        msg = "there is no technical assessment to decide on"
        raise DecisionError(msg, hint="write it first with `e5ops assess`")
    recommendation = assessment.record["assessment"]["recommendation"]
    if verdict == "AUTHORIZE" and recommendation == "DENY":
        msg = f"AUTHORIZE refused: the assessment {assessment.name} recommends DENY"
        raise DecisionError(msg, hint="remediate, review the gates again and reassess")
    if verdict == "CONDITIONAL" and not (conditions or "").strip():
        msg = "a CONDITIONAL decision needs its conditions"
        raise DecisionError(msg, hint="pass --conditions 'what must be done, by when'")
    body = {
        "decision": {
            "decision": verdict,
            "approver": approver.strip(),
            "decided": datetime.now(tz=UTC).isoformat(),
            "conditions": (conditions or "").strip() or None,
            "assessment": {"record": assessment.name, "recommendation": recommendation},
        }
    }
    subjects = [_record_subject(assessment)]
    return store.write(step=step("06"), body=body, subjects=subjects, recorder="cli")
