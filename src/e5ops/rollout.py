"""Staged rollouts: a canary first, then larger steps, with gates between them.

A rollout moves the hosts of one inventory group to a release in steps
(``1,25%,100%``: one canary host, then a quarter of the hosts, then all).
Each step runs ``playbooks/deploy.yml`` on the step's new hosts (drained,
deployed, health-checked and put back one at a time). After a bake time the
gates are evaluated: HTTP checks and Prometheus queries with thresholds. When
a step or a gate fails, every host moved so far is rolled back through
``playbooks/rollback.yml``, and the rollout ends ``rolled_back``.

The state is kept on disk (``.e5ops/rollouts/current.json``), so a rollout can
be paused from another shell, resumed by a later invocation, or aborted
(which rolls its hosts back). Every playbook run is recorded as evidence by
the runner, and every step, gate and rollback is written to the state file.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import operator
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from e5ops.errors import E5opsError, UsageError
from e5ops.project import state_dir
from e5ops.runner import RunResult, run_playbook

log = logging.getLogger(__name__)

DEPLOY_PLAYBOOK = "playbooks/deploy.yml"
ROLLBACK_PLAYBOOK = "playbooks/rollback.yml"
DEFAULT_GROUP = "webservers"
DEFAULT_NAME = "demo-app"

_PERCENT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)%$")
_COUNT = re.compile(r"^[0-9]+$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")
_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_PROM_GATE = re.compile(r"^(?P<query>.+?)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<threshold>[-+0-9.eE]+)$")


class RolloutError(E5opsError):
    """A rollout step or gate failed, or a rollback did not complete."""

    exit_code = 6


# Steps


@dataclass(frozen=True)
class Step:
    """One step of a rollout.

    Attributes:
        spec: The step as written: ``1`` (hosts) or ``25%`` (of the group).
        hosts: The hosts this step moves (not those moved before it).
        total: How many hosts have moved once the step is done.

    """

    spec: str
    hosts: tuple[str, ...]
    total: int


def parse_steps(text: str) -> tuple[str, ...]:
    """Split a step list such as ``1,25%,100%`` into its items.

    Raises:
        UsageError: The list is empty.

    """
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items:
        msg = f"empty step list {text!r}"
        raise UsageError(msg, hint="give steps such as 1,25%,100%")
    return items


def _resolve(spec: str, count: int) -> int:
    percent = _PERCENT.match(spec)
    if percent:
        value = float(percent.group(1))
        if not 0 < value <= 100:  # noqa: PLR2004 - a percentage
            msg = f"step {spec} is not a percentage above 0% and at most 100%"
            raise UsageError(msg, hint="give steps such as 1,25%,100%")
        return max(1, math.ceil(count * value / 100))
    if _COUNT.match(spec):
        hosts = int(spec)
        if hosts < 1:
            msg = f"step {spec} moves no host"
            raise UsageError(msg, hint="a step is a number of hosts (1 or more) or a percentage")
        if hosts > count:
            msg = f"step {spec} asks for {hosts} hosts; the group has {count}"
            raise UsageError(msg, hint="use a percentage, or at most the group's size")
        return hosts
    msg = f"step {spec!r} is neither a number of hosts nor a percentage"
    raise UsageError(msg, hint="give steps such as 1,25%,100%")


def plan_steps(*, hosts: Sequence[str], steps: Sequence[str]) -> tuple[Step, ...]:
    """Split ``hosts`` into the rollout's steps, in order.

    Each step is a cumulative target: a number of hosts or a percentage of the
    group, rounded up. Targets must grow strictly as written, and the last one
    must cover the whole group. A step whose rounded target adds no host (25%
    of three hosts after a canary of one) is dropped.

    Args:
        hosts: The group's hosts, in rollout order (the first is the canary).
        steps: Step items, e.g. ``("1", "25%", "100%")``.

    Returns:
        The steps that move at least one host.

    Raises:
        UsageError: The group is empty, a step is out of range or not
            increasing, or the last step leaves hosts behind.

    """
    if not hosts:
        msg = "the backend group has no hosts: there is nothing to roll out to"
        raise UsageError(msg, hint="add hosts to the group in the inventory, or name another group")
    if not steps:
        msg = "no steps given"
        raise UsageError(msg, hint="give steps such as 1,25%,100%")
    count = len(hosts)
    planned: list[Step] = []
    done = 0
    previous: tuple[str, float] | None = None
    for spec in steps:
        target = _resolve(spec, count)
        kind = "%" if spec.endswith("%") else "n"
        value = float(spec.rstrip("%"))
        if previous is not None and (
            (previous[0] == kind and value <= previous[1]) or target < done
        ):
            msg = f"step list {','.join(steps)} is not increasing at {spec}"
            raise UsageError(msg, hint="each step must cover more hosts than the one before")
        previous = (kind, value)
        if target > done:
            planned.append(Step(spec=spec, hosts=tuple(hosts[done:target]), total=target))
            done = target
    if done < count:
        msg = f"step list {','.join(steps)} ends at {done} of {count} hosts"
        raise UsageError(msg, hint="end the step list with 100%")
    return tuple(planned)


# Gates


@dataclass(frozen=True)
class Gate:
    """A check made after each step's bake time.

    Attributes:
        kind: ``http`` (a URL must answer a status) or ``prom`` (a Prometheus
            query's value must meet a threshold).
        spec: The gate as written, for records.
        url: The URL to get (``http``) or the Prometheus server (``prom``).
        status: The HTTP status expected (``http``).
        query: The PromQL query (``prom``).
        op: The comparison with the threshold (``prom``): ``<``, ``<=`` ...
        threshold: The threshold (``prom``).

    """

    kind: str
    spec: str
    url: str
    status: int = 200
    query: str = ""
    op: str = ""
    threshold: float = 0.0


@dataclass(frozen=True)
class GateResult:
    """The outcome of one gate.

    Attributes:
        gate: The gate as written.
        passed: Whether the gate passed.
        detail: What was measured, for people.
        value: The measured value: the HTTP status or the query's result.

    """

    gate: str
    passed: bool
    detail: str
    value: float | None = None


def _check_url(url: str, what: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        msg = f"{what} {url!r} is not an http(s) URL"
        raise UsageError(msg, hint="write it as http://HOST[:PORT]/PATH")
    return url


def parse_gate(text: str, *, prometheus_url: str | None = None) -> Gate:
    """Parse a gate written on the command line.

    Forms:
        ``http:URL`` or ``http:URL=STATUS``: the URL must answer STATUS (200).
        ``prom:QUERY OP THRESHOLD``: the query, run on ``prometheus_url``,
        must return one value meeting the comparison (``<``, ``<=``, ``>``,
        ``>=``, ``==``, ``!=``); no value fails the gate.

    Raises:
        UsageError: The gate is malformed, or a ``prom`` gate has no server.

    """
    kind, _, body = text.partition(":")
    if kind == "http" and body:
        url, status = body, 200
        match = re.match(r"^(?P<url>.+)=(?P<status>[0-9]{3})$", body)
        if match:
            url, status = match.group("url"), int(match.group("status"))
        return Gate(kind="http", spec=text, url=_check_url(url, "gate URL"), status=status)
    if kind == "prom" and body:
        match = _PROM_GATE.match(body.strip())
        if not match:
            msg = f"gate {text!r} has no comparison with a threshold"
            raise UsageError(msg, hint="write prom:QUERY < 0.01 (or <=, >, >=, ==, !=)")
        if not prometheus_url:
            msg = f"gate {text!r} needs a Prometheus server"
            raise UsageError(msg, hint="give --prometheus http://HOST:9090")
        try:
            threshold = float(match.group("threshold"))
        except ValueError as exc:
            msg = f"gate {text!r}: threshold {match.group('threshold')!r} is not a number"
            raise UsageError(msg) from exc
        return Gate(
            kind="prom",
            spec=text,
            url=_check_url(prometheus_url, "Prometheus URL"),
            query=match.group("query"),
            op=match.group("op"),
            threshold=threshold,
        )
    msg = f"gate {text!r} is neither http:URL nor prom:QUERY OP THRESHOLD"
    raise UsageError(msg, hint="e.g. --gate http://LB/healthz or --gate 'prom:QUERY < 0.01'")


def _get(url: str, timeout: float) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": "e5ops-rollout"})  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - scheme checked
            return int(response.status), response.read()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read()


def evaluate_gate(gate: Gate, *, timeout: float = 5.0) -> GateResult:
    """Evaluate one gate now and say whether it passed; never raises for a failed check."""
    if gate.kind == "http":
        try:
            status, _ = _get(gate.url, timeout)
        except (OSError, ValueError) as exc:
            return GateResult(gate.spec, passed=False, detail=f"{gate.url}: no answer ({exc})")
        detail = f"{gate.url} answered {status}, expected {gate.status}"
        return GateResult(gate.spec, passed=status == gate.status, detail=detail, value=status)
    query = urllib.parse.urlencode({"query": gate.query})
    url = f"{gate.url.rstrip('/')}/api/v1/query?{query}"
    try:
        status, body = _get(url, timeout)
        answer = json.loads(body)
    except (OSError, ValueError) as exc:
        return GateResult(gate.spec, passed=False, detail=f"Prometheus {gate.url}: {exc}")
    if status != 200 or answer.get("status") != "success":  # noqa: PLR2004 - HTTP OK
        error = answer.get("error", f"HTTP {status}")
        return GateResult(gate.spec, passed=False, detail=f"query failed: {error}")
    value = _query_value(answer.get("data", {}))
    if value is None:
        return GateResult(gate.spec, passed=False, detail=f"{gate.query} returned no single value")
    passed = _COMPARISONS[gate.op](value, gate.threshold)
    detail = f"{gate.query} = {value:g}, needs {gate.op} {gate.threshold:g}"
    return GateResult(gate.spec, passed=passed, detail=detail, value=value)


def _query_value(data: dict[str, Any]) -> float | None:
    kind: Any = data.get("resultType")
    result: Any = data.get("result")
    try:
        if kind == "scalar":
            return float(result[1])
        if kind == "vector" and isinstance(result, list) and len(result) == 1:
            return float(result[0]["value"][1])
    except (TypeError, ValueError, KeyError, IndexError):
        return None
    return None


# Release artifacts


@dataclass(frozen=True)
class Release:
    """A release to roll out: its version and checked artifact."""

    name: str
    version: str
    artifact: Path
    sha256: str


def find_release(
    *,
    project: Path,
    version: str,
    name: str = DEFAULT_NAME,
    artifact: Path | None = None,
    sha256: str | None = None,
) -> Release:
    """Find a release's artifact and check it against its sha256 before anything runs.

    Args:
        project: The project root.
        version: The version to roll out.
        name: The service name; the default artifact is
            ``build/<name>/<name>-<version>.tar.gz``.
        artifact: The artifact, when not at the default place.
        sha256: The expected sha256; default: the ``.sha256`` file beside the artifact.

    Raises:
        UsageError: The version is malformed or unknown (no artifact), its
            checksum is missing, or the artifact does not match it.

    """
    if not _VERSION.match(version):
        msg = f"version {version!r} is not valid"
        raise UsageError(msg, hint="use letters, digits, dots and dashes, such as 1.2.0")
    path = artifact or project / "build" / name / f"{name}-{version}.tar.gz"
    if not path.is_file():
        msg = f"unknown version {version}: no artifact at {path}"
        raise UsageError(msg, hint="build it (examples/demo-app/build.py) or give --artifact")
    expected = sha256
    if expected is None:
        sidecar = path.with_name(path.name + ".sha256")
        if not sidecar.is_file():
            msg = f"no sha256 for {path}: {sidecar.name} is missing"
            raise UsageError(msg, hint="give --sha256, or write the file with sha256sum")
        expected = sidecar.read_text(encoding="utf-8").split()[0] if sidecar.stat().st_size else ""
    found = hashlib.sha256(path.read_bytes()).hexdigest()
    if found != expected.strip().lower():
        msg = f"checksum mismatch for {path}: expected {expected.strip()!r}, found {found}"
        raise UsageError(msg, hint="rebuild the artifact or fix its sha256; nothing was deployed")
    return Release(name=name, version=version, artifact=path.resolve(), sha256=found)


# Inventory


def group_hosts(*, inventory: Path, group: str) -> tuple[str, ...]:
    """Return the hosts of ``group`` in inventory order, read by ``ansible-inventory``.

    Raises:
        UsageError: The inventory cannot be read, or the group has no hosts.

    """
    command = str(Path(sys.executable).parent / "ansible-inventory")
    done = subprocess.run(
        [command, "-i", str(inventory), "--list", "--export"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"cannot read inventory {inventory}: {done.stderr.strip()}"
        raise UsageError(msg)
    listing = json.loads(done.stdout)
    hosts = _members(listing, group)
    if not hosts:
        msg = f"the group {group!r} has no hosts in {inventory}: there is nothing to roll out to"
        raise UsageError(msg, hint="add hosts to the group, or name another one with --group")
    return hosts


def _members(listing: dict[str, Any], group: str) -> tuple[str, ...]:
    entry = listing.get(group, {})
    found = list(entry.get("hosts", []))
    for child in entry.get("children", []):
        found.extend(h for h in _members(listing, child) if h not in found)
    return tuple(found)


# State


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _first_failure(result: RunResult) -> datetime | None:
    """Return when the run's first task failed (a failed health check), if it says."""
    for task in getattr(result, "tasks", ()):
        if task.status == "failed" and task.ended:
            when = datetime.fromisoformat(task.ended)
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _failures(result: RunResult) -> list[str]:
    """Return the last failure of each host: a rescued error reappears in the final one."""
    last = {failure.host: failure.message for failure in result.failures}
    return [f"{host}: {message}" for host, message in last.items()]


@dataclass
class RolloutState:
    """A rollout as kept on disk between invocations.

    Attributes:
        id: When and what: ``<UTC time>-<version>``.
        release: The release rolled out.
        group: The inventory group.
        inventory: The inventory path.
        steps: The planned steps, as host lists.
        gates: The gates as written.
        prometheus: The Prometheus server of ``prom`` gates, if any.
        bake_seconds: Wait after each step before the gates.
        status: ``running``, ``paused``, ``succeeded``, ``rolled_back``,
            ``aborted`` or ``failed`` (a rollback that did not complete).
        next_step: Index of the next step to run.
        moved: Hosts the rollout has deployed to (or tried to).
        events: What happened, in order, with times: steps, gates, rollback.

    """

    id: str
    release: dict[str, str]
    group: str
    inventory: str
    steps: list[list[str]]
    gates: list[str]
    prometheus: str | None
    bake_seconds: float
    status: str = "running"
    next_step: int = 0
    moved: list[str] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        """Tell whether the rollout has ended, one way or the other."""
        return self.status in {"succeeded", "rolled_back", "aborted"}


def rollouts_dir(project: Path) -> Path:
    """Return the directory where a project's rollouts keep their state."""
    return state_dir(project) / "rollouts"


def pause_path(directory: Path) -> Path:
    """Return the file whose presence asks the running rollout to pause after its step."""
    return directory / "pause"


def load_state(directory: Path) -> RolloutState | None:
    """Return the current rollout kept in ``directory``, or None when there is none."""
    path = directory / "current.json"
    if not path.is_file():
        return None
    return RolloutState(**json.loads(path.read_text(encoding="utf-8")))


def save_state(directory: Path, state: RolloutState) -> None:
    """Write the rollout's state atomically; a finished one is also archived by id."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "current.json"
    text = json.dumps(asdict(state), indent=2) + "\n"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    if state.finished:
        (directory / f"{state.id}.json").write_text(text, encoding="utf-8")
        pause_path(directory).unlink(missing_ok=True)


# Running

Runner = Callable[..., RunResult]
Observer = Callable[[dict[str, Any]], None]


@dataclass
class Rollout:
    """Runs a rollout's steps, gates and rollback, keeping its state on disk.

    Attributes:
        project: The project root.
        state: The rollout's state.
        directory: Where the state is kept (default: ``.e5ops/rollouts``).
        runner: Runs a playbook (``e5ops.runner.run_playbook`` by default).
        observer: Called with each event as it is recorded, for a display.
        sleep: Waits the bake time (``time.sleep`` by default).

    """

    project: Path
    state: RolloutState
    directory: Path | None = None
    runner: Runner = run_playbook
    observer: Observer | None = None
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        """Default the state directory to the project's."""
        if self.directory is None:
            self.directory = rollouts_dir(self.project)

    @property
    def _dir(self) -> Path:
        assert self.directory is not None  # noqa: S101 - set in __post_init__
        return self.directory

    def _event(self, kind: str, **data: Any) -> dict[str, Any]:  # noqa: ANN401 - record fields
        event = {"kind": kind, "at": _now(), "monotonic": time.monotonic(), **data}
        self.state.events.append(event)
        save_state(self._dir, self.state)
        log.info("rollout %s: %s %s", self.state.id, kind, data)
        if self.observer:
            self.observer(event)
        return event

    def _run(self, playbook: str, hosts: Sequence[str], extravars: dict[str, Any]) -> RunResult:
        return self.runner(
            project=self.project,
            playbook=playbook,
            inventory=Path(self.state.inventory),
            limit=",".join(hosts),
            extravars={"deploy_group": self.state.group, **extravars},
            artifacts=(Path(self.state.release["artifact"]),),
        )

    def run(self) -> RolloutState:
        """Run the remaining steps; stop at a pause, roll back at a failure.

        Raises:
            RolloutError: A step or gate failed (the moved hosts were rolled
                back), or the rollback itself failed.

        """
        state = self.state
        if state.status == "paused":
            state.status = "running"
            pause_path(self._dir).unlink(missing_ok=True)
            self._event("resumed", step=state.next_step)
        release = state.release
        while state.next_step < len(state.steps):
            index = state.next_step
            hosts = state.steps[index]
            self._event("step_started", step=index, hosts=hosts)
            state.moved.extend(h for h in hosts if h not in state.moved)
            result = self._run(
                DEPLOY_PLAYBOOK,
                hosts,
                {
                    "release_name": release["name"],
                    "release_version": release["version"],
                    "release_artifact": release["artifact"],
                    "release_sha256": release["sha256"],
                },
            )
            failures = _failures(result)
            self._event(
                "step_ended",
                step=index,
                hosts=hosts,
                ok=result.ok,
                seconds=round(result.seconds, 1),
                failures=failures,
                evidence=str(result.evidence) if result.evidence else None,
            )
            if not result.ok:
                reason = f"step {index + 1} failed on {', '.join(hosts)}: {'; '.join(failures)}"
                self._roll_back(reason, failed_at=_first_failure(result))
            if state.bake_seconds > 0:
                self.sleep(state.bake_seconds)
            results = [
                evaluate_gate(parse_gate(g, prometheus_url=state.prometheus)) for g in state.gates
            ]
            self._event("gates", step=index, results=[asdict(r) for r in results])
            failed = [r for r in results if not r.passed]
            if failed:
                reason = f"gate failed after step {index + 1}: {failed[0].gate}: {failed[0].detail}"
                self._roll_back(reason)
            state.next_step = index + 1
            save_state(self._dir, state)
            if pause_path(self._dir).exists() and state.next_step < len(state.steps):
                state.status = "paused"
                self._event("paused", step=state.next_step)
                return state
        state.status = "succeeded"
        self._event("succeeded", moved=state.moved)
        return state

    def _roll_back(
        self, reason: str, *, status: str = "rolled_back", failed_at: datetime | None = None
    ) -> None:
        """Roll every moved host back; time it from the failure when the run said when."""
        state = self.state
        started = self._event("rollback_started", reason=reason, hosts=state.moved)
        result = self._run(
            ROLLBACK_PLAYBOOK,
            state.moved,
            {
                "release_name": state.release["name"],
                "release_rollback_only_from": state.release["version"],
            },
        )
        seconds = time.monotonic() - started["monotonic"]
        since_failure = (datetime.now(UTC) - failed_at).total_seconds() if failed_at else seconds
        state.status = status if result.ok else "failed"
        self._event(
            "rollback_ended",
            ok=result.ok,
            seconds=round(seconds, 1),
            seconds_since_failure=round(since_failure, 1),
            failed_at=failed_at.isoformat() if failed_at else None,
            failures=_failures(result),
        )
        if not result.ok:
            msg = f"rollback after {reason!r} did not complete"
            raise RolloutError(
                msg, hint="see the failures above; run playbooks/rollback.yml by hand"
            )
        if status == "rolled_back":
            moved = ", ".join(state.moved)
            msg = f"{reason}; rolled back {moved} {since_failure:.1f}s after the failure"
            raise RolloutError(msg)

    def abort(self) -> RolloutState:
        """Roll back every host moved so far and end the rollout as ``aborted``."""
        if self.state.moved:
            self._roll_back("aborted by the operator", status="aborted")
        else:
            self.state.status = "aborted"
            self._event("aborted")
        return self.state


def start_rollout(
    *,
    project: Path,
    inventory: Path,
    release: Release,
    steps: Sequence[str],
    gates: Sequence[str] = (),
    prometheus: str | None = None,
    bake_seconds: float = 10.0,
    group: str = DEFAULT_GROUP,
    directory: Path | None = None,
    runner: Runner = run_playbook,
    observer: Observer | None = None,
) -> Rollout:
    """Check everything a rollout needs and prepare it; nothing is deployed yet.

    Call ``run()`` on the result to roll out. ``directory`` keeps the state
    (default: ``.e5ops/rollouts`` of the project).

    Raises:
        UsageError: Another rollout is unfinished, a gate or step is invalid,
            or the group is empty.

    """
    directory = directory or rollouts_dir(project)
    current = load_state(directory)
    if current is not None and not current.finished:
        msg = f"rollout {current.id} is {current.status}"
        raise UsageError(msg, hint="resume it with `e5ops rollout --resume` or end it with --abort")
    for gate in gates:
        parse_gate(gate, prometheus_url=prometheus)
    if bake_seconds < 0:
        msg = f"bake time {bake_seconds} is negative"
        raise UsageError(msg)
    planned = plan_steps(hosts=group_hosts(inventory=inventory, group=group), steps=steps)
    pause_path(directory).unlink(missing_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    state = RolloutState(
        id=f"{stamp}-{release.version}",
        release={k: str(v) for k, v in asdict(release).items()},
        group=group,
        inventory=str(inventory.resolve()),
        steps=[list(step.hosts) for step in planned],
        gates=list(gates),
        prometheus=prometheus,
        bake_seconds=bake_seconds,
    )
    rollout = Rollout(
        project=project, state=state, directory=directory, runner=runner, observer=observer
    )
    rollout._event("planned", steps=[asdict(step) for step in planned])  # noqa: SLF001 - own class
    return rollout


def current_rollout(
    *,
    project: Path,
    directory: Path | None = None,
    runner: Runner = run_playbook,
    observer: Observer | None = None,
) -> Rollout:
    """Return the project's unfinished rollout, to resume or abort.

    Raises:
        UsageError: There is no unfinished rollout.

    """
    directory = directory or rollouts_dir(project)
    state = load_state(directory)
    if state is None or state.finished:
        msg = "there is no unfinished rollout"
        raise UsageError(msg, hint="start one with `e5ops rollout --release VERSION`")
    return Rollout(
        project=project, state=state, directory=directory, runner=runner, observer=observer
    )


def request_pause(*, project: Path, directory: Path | None = None) -> RolloutState:
    """Ask the running rollout to stop after its current step.

    Raises:
        UsageError: There is no running rollout.

    """
    directory = directory or rollouts_dir(project)
    state = load_state(directory)
    if state is None or state.status != "running":
        msg = "there is no running rollout to pause"
        raise UsageError(msg)
    pause_path(directory).touch()
    return state


def rollback_seconds(state: RolloutState) -> float | None:
    """Return the time from the failure (the failed check or gate) to the completed rollback."""
    for event in reversed(state.events):
        if event["kind"] == "rollback_ended":
            return float(event.get("seconds_since_failure", event["seconds"]))
    return None
