"""The checks a criterion names: small functions over the recorded runs of one step.

Each check takes the step's run records (oldest first, every attempt) and the
criterion's parameters, and returns an :class:`Outcome` that says what it
found and in which records. Values that plays publish with ``set_stats`` are
read from the latest complete run that published them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

GRADES = ("A+", "A", "A-", "B", "C", "D", "E", "F", "T", "M")


@dataclass(frozen=True)
class RunView:
    """A run record as checks see it."""

    name: str
    complete: bool
    run: dict[str, Any]

    @property
    def changed(self) -> int:
        """Count the changed tasks over all hosts."""
        return sum(int(stats["changed"]) for stats in self.run["hosts"].values())

    @property
    def failed_hosts(self) -> list[str]:
        """Return the hosts with failed tasks or that were unreachable."""
        return sorted(
            host
            for host, stats in self.run["hosts"].items()
            if stats["failures"] or stats["unreachable"]
        )


@dataclass(frozen=True)
class Outcome:
    """What a check found: passed or not, why, and the records it read."""

    passed: bool
    detail: str
    evidence: tuple[str, ...] = ()


CheckFunc = Callable[[list[RunView], dict[str, Any]], Outcome]


@dataclass(frozen=True)
class Check:
    """A named check and the parameters it takes."""

    name: str
    func: CheckFunc
    required: tuple[str, ...]
    optional: tuple[str, ...]
    description: str

    def parameter_problem(self, params: dict[str, Any]) -> str | None:
        """Return what is wrong with ``params`` for this check, or None."""
        missing = [p for p in self.required if p not in params]
        if missing:
            return f"check {self.name} needs the parameter(s) {', '.join(missing)}"
        unknown = sorted(set(params) - set(self.required) - set(self.optional))
        if unknown:
            allowed = ", ".join((*self.required, *self.optional)) or "none"
            return f"check {self.name} takes no parameter {', '.join(unknown)} (takes: {allowed})"
        if self.name == "metric_within" and "min" not in params and "max" not in params:
            return "check metric_within needs min, max or both"
        if "grade" in params and params["grade"] not in GRADES:
            return f"grade {params['grade']!r} is not one of {', '.join(GRADES)}"
        return None

    def __call__(self, runs: list[RunView], params: dict[str, Any]) -> Outcome:
        """Run the check."""
        return self.func(runs, params)


CHECKS: dict[str, Check] = {}


def check(
    name: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check under ``name``, with its required and optional parameters."""

    def register(func: CheckFunc) -> CheckFunc:
        CHECKS[name] = Check(name, func, required, optional, (func.__doc__ or "").strip())
        return func

    return register


def _runs_of(runs: list[RunView], playbook: str, *, check_mode: bool = False) -> list[RunView]:
    return [
        r
        for r in runs
        if r.complete and r.run["playbook"] == playbook and bool(r.run["check"]) == check_mode
    ]


_MISSING = object()


def _lookup(data: Any, metric: str) -> Any:  # noqa: ANN401 - published values are any JSON
    """Return ``data[metric]``, or follow a dotted path (``e5ops_evidence.tls.web1``).

    A ``*`` in the path matches every key at that level: the result is then a
    :class:`Matches` of every value found (``e5ops_evidence.restore_drill.*.ok``
    is each host's ``ok``).
    """
    if isinstance(data, dict) and metric in data:
        return data[metric]
    found = _walk(data, metric.split("."))
    if "*" in metric.split("."):
        return Matches(found) if found else _MISSING
    return found[0] if found else _MISSING


def _walk(data: Any, parts: list[str]) -> list[Any]:  # noqa: ANN401 - any JSON
    if not parts:
        return [data]
    if not isinstance(data, dict):
        return []
    head, rest = parts[0], parts[1:]
    if head == "*":
        return [value for key in sorted(data) for value in _walk(data[key], rest)]
    return _walk(data[head], rest) if head in data else []


class Matches(list[Any]):
    """Every value a wildcard path found: a check holds only if it holds for each."""


def published(runs: list[RunView], metric: str) -> tuple[Any, str] | None:
    """Return the latest published value of ``metric`` and the record it came from.

    ``metric`` is a key of the published values or a dotted path into them,
    with ``*`` for every key at a level.
    """
    for view in reversed(runs):
        if not view.complete:
            continue
        value = _lookup(view.run["published"], metric)
        if value is not _MISSING:
            return value, view.name
    return None


@check("playbook_succeeded", required=("playbook",))
def playbook_succeeded(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the latest complete run of the playbook succeeded on every host."""
    found = _runs_of(runs, params["playbook"])
    if not found:
        return Outcome(passed=False, detail=f"no complete run of {params['playbook']} recorded")
    last = found[-1]
    if last.run["status"] == "successful":
        return Outcome(passed=True, detail=f"{params['playbook']} succeeded", evidence=(last.name,))
    hosts = ", ".join(last.failed_hosts) or "no host"
    return Outcome(
        passed=False,
        detail=f"{params['playbook']} {last.run['status']} (failed on {hosts})",
        evidence=(last.name,),
    )


@check("idempotent_rerun", required=("playbook",))
def idempotent_rerun(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the last two runs of the playbook succeeded and the second changed nothing."""
    found = _runs_of(runs, params["playbook"])
    if len(found) < 2:  # noqa: PLR2004 - a run and its rerun
        return Outcome(
            passed=False, detail=f"{len(found)} run(s) of {params['playbook']}: need a rerun"
        )
    first, second = found[-2:]
    names = (first.name, second.name)
    if first.run["status"] != "successful" or second.run["status"] != "successful":
        return Outcome(passed=False, detail="a run or its rerun failed", evidence=names)
    if second.changed:
        return Outcome(
            passed=False, detail=f"the rerun changed {second.changed} task(s)", evidence=names
        )
    return Outcome(passed=True, detail="the rerun changed nothing", evidence=names)


@check("no_drift", required=("playbook",))
def no_drift(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the latest check-mode run of the playbook would change nothing."""
    found = _runs_of(runs, params["playbook"], check_mode=True)
    if not found:
        return Outcome(passed=False, detail=f"no check-mode run of {params['playbook']} recorded")
    last = found[-1]
    if last.run["status"] != "successful":
        return Outcome(passed=False, detail="the check-mode run failed", evidence=(last.name,))
    if last.changed:
        return Outcome(
            passed=False,
            detail=f"drift: {last.changed} task(s) would change",
            evidence=(last.name,),
        )
    return Outcome(passed=True, detail="no drift", evidence=(last.name,))


@check("no_failed_hosts")
def no_failed_hosts(runs: list[RunView], _params: dict[str, Any]) -> Outcome:
    """Pass when the latest complete run of each playbook in the step failed on no host."""
    latest: dict[str, RunView] = {}
    for view in runs:
        if view.complete:
            latest[view.run["playbook"]] = view
    if not latest:
        return Outcome(passed=False, detail="no complete run recorded")
    failing = {p: v.failed_hosts for p, v in latest.items() if v.failed_hosts}
    names = tuple(v.name for v in latest.values())
    if failing:
        detail = "; ".join(f"{p}: {', '.join(h)}" for p, h in sorted(failing.items()))
        return Outcome(passed=False, detail=f"failed hosts: {detail}", evidence=names)
    return Outcome(passed=True, detail=f"{len(latest)} playbook(s), no failed host", evidence=names)


def _number(value: Any) -> float | None:  # noqa: ANN401 - a published value
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


@check("metric_within", required=("metric",), optional=("min", "max"))
def metric_within(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when a published metric is at least ``min`` and at most ``max``."""
    found = published(runs, params["metric"])
    if found is None:
        return Outcome(passed=False, detail=f"{params['metric']} was never published")
    value, name = found
    values = list(value) if isinstance(value, Matches) else [value]
    numbers = [_number(v) for v in values]
    if any(n is None for n in numbers):
        return Outcome(passed=False, detail=f"{params['metric']}={value!r} is not a number")
    low, high = params.get("min"), params.get("max")
    ok = all((low is None or n >= low) and (high is None or n <= high) for n in numbers)
    bounds = " and ".join(
        b
        for b in (f">= {low}" if low is not None else "", f"<= {high}" if high is not None else "")
        if b
    )
    verdict = "within" if ok else "outside"
    return Outcome(
        passed=ok, detail=f"{params['metric']}={value} {verdict} {bounds}", evidence=(name,)
    )


@check("failed_requests_at_most", required=("max",), optional=("metric",))
def failed_requests_at_most(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the published count of failed requests is at most ``max``."""
    return metric_within(
        runs, {"metric": params.get("metric", "failed_requests"), "max": params["max"]}
    )


@check("tls_grade_at_least", required=("grade",), optional=("metric",))
def tls_grade_at_least(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the published TLS grade (as testssl rates) is at least ``grade``."""
    metric = params.get("metric", "tls_grade")
    found = published(runs, metric)
    if found is None:
        return Outcome(passed=False, detail=f"{metric} was never published")
    value, name = found
    values = list(value) if isinstance(value, Matches) else [value]
    if any(v not in GRADES for v in values):
        return Outcome(passed=False, detail=f"{metric}={value!r} is not a grade", evidence=(name,))
    value = max(values, key=GRADES.index)  # the worst grade found
    ok = GRADES.index(value) <= GRADES.index(params["grade"])
    relation = "meets" if ok else "is below"
    return Outcome(
        passed=ok, detail=f"grade {value} {relation} {params['grade']}", evidence=(name,)
    )


@check("published_true", required=("metric",))
def published_true(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when a published value is true."""
    found = published(runs, params["metric"])
    if found is None:
        return Outcome(passed=False, detail=f"{params['metric']} was never published")
    value, name = found
    values = list(value) if isinstance(value, Matches) else [value]
    passed = all(v is True for v in values)
    return Outcome(passed=passed, detail=f"{params['metric']}={value}", evidence=(name,))


@check("backup_restored", optional=("metric",))
def backup_restored(runs: list[RunView], params: dict[str, Any]) -> Outcome:
    """Pass when the restore drill published that the restored data matched."""
    return published_true(runs, {"metric": params.get("metric", "restore_verified")})
