"""The E5 pipeline: from the scope to a signed authorization decision, resumable.

The pipeline walks the steps of the readiness review in order::

    00 scope -> 01 runs, 01a gate -> 02, 02a -> 03, 03a -> 04, 04a
             -> 05 technical assessment -> 06 authorization decision

Each run step is a list of actions (playbook runs, and the scale-out in step
03), every run recorded as signed evidence by the runner. After its actions,
the step's gate is reviewed on the runs of *this* attempt only, so an old
success cannot hide a new failure. A gate that fails stops the pipeline, and
so does a playbook that fails: the run's record says why.

Progress is read back from the evidence, never from a side file: a stage is
done when its record passes and comes after the record of the stage before
it in the chain. A second invocation therefore resumes at the first stage
without a passing record, and ``from_stage`` forces a stage (and every one
after it) to run again.

Before any host is touched, the scope file is validated (file and line), its
criteria are matched against what the steps run, and the inventory is checked
for every group the steps need.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from e5ops.errors import ScopeError, UsageError
from e5ops.evidence.keys import create_key, default_private_key, public_key
from e5ops.evidence.session import EvidenceConfig
from e5ops.evidence.steps import GATES
from e5ops.evidence.verify import verify_directory
from e5ops.gates.review import assess, authorize, define_scope, open_verified_store, review_gate
from e5ops.gates.scope import Scope, criterion_line, load_scope
from e5ops.report import gather, write_report
from e5ops.runner import RunResult, run_playbook

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from e5ops.evidence.store import EvidenceStore, StoredRecord
    from e5ops.lab import Lab

log = logging.getLogger(__name__)

#: The stages in order: the scope, the four run steps (each closed by its gate),
#: the technical assessment and the authorization decision.
STAGES = ("00", "01", "02", "03", "04", "05", "06")
_GATE_OF = {run: gate for gate, run in GATES.items()}
_PASSING = {"PASS", "CONDITIONAL"}


@dataclass(frozen=True)
class Run:
    """One playbook run of a step.

    Attributes:
        playbook: The playbook, relative to the project.
        why: What the run shows, for people.
        check: Run in check mode with diff (the drift check).
        extravars: Extra variables for the run.

    """

    playbook: str
    why: str
    check: bool = False
    extravars: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScaleOut:
    """Add a web host, then converge only it and put it in service (step 03).

    On the lab, the host is (re)created as a bare container first, so every
    attempt measures a real scale-out; on another inventory the host must
    already be listed there.
    """

    host: str
    playbook: str = "playbooks/scale.yml"
    why: str = "scale-out: a new web host converged alone and taken into service"


Action = Run | ScaleOut


@dataclass(frozen=True)
class StepPlan:
    """What a run step does, and the inventory groups it needs."""

    key: str
    title: str
    needs: tuple[str, ...]
    actions: tuple[Action, ...]

    @property
    def playbooks(self) -> list[tuple[str, bool]]:
        """Return each playbook the step runs, with whether it runs in check mode."""
        found: list[tuple[str, bool]] = []
        for action in self.actions:
            entry = (
                (action.playbook, action.check)
                if isinstance(action, Run)
                else (action.playbook, False)
            )
            if entry not in found:
                found.append(entry)
        return found


#: The releases the steps deploy: the lab's demo app (examples/demo-app/build.py).
LAB_RELEASES = {"deploy": "1.1.0", "under_load": "1.2.0", "broken": "1.3.0-broken"}


def default_plan(
    *, scale_host: str = "web4", releases: Mapping[str, str] = LAB_RELEASES
) -> tuple[StepPlan, ...]:
    """Return what steps 01 to 04 run, as the readiness plan asks.

    Args:
        scale_host: The web host step 03 adds.
        releases: The release step 01 deploys (``deploy``), the one step 04
            deploys under load (``under_load``) and the one whose canary must
            fail (``broken``).

    """
    return (
        StepPlan(
            "01",
            "deployment: TLS, hardening, monitoring agents, the release",
            ("webservers", "loadbalancers", "monitoring_servers", "backup_servers"),
            (
                # site.yml's second run is step 03's drift check, in check
                # mode after every other step: one full pass fewer.
                Run("playbooks/site.yml", "converge the whole stack from bare hosts"),
                Run(
                    "playbooks/deploy.yml",
                    "rolling deploy of the release",
                    extravars={"release_version": releases["deploy"]},
                ),
                Run(
                    "playbooks/deploy.yml",
                    "rerun of the deploy: nothing changes",
                    extravars={"release_version": releases["deploy"]},
                ),
                Run("playbooks/harden.yml", "hardening on its own, under the lockout guard"),
                Run("playbooks/tls_grade.yml", "testssl.sh rates the public endpoint"),
            ),
        ),
        StepPlan(
            "02",
            "operations: monitoring, alerts, backups, restore drill, runbooks",
            ("monitoring_servers", "backup_servers", "webservers"),
            (
                Run("playbooks/monitoring.yml", "Prometheus, Alertmanager, every target up"),
                Run("playbooks/alert_drill.yml", "a host-down alert reaches the receiver"),
                Run("playbooks/backup.yml", "a backup of the application data"),
                Run("playbooks/restore_drill.yml", "restore and compare byte for byte"),
                Run("playbooks/runbooks_check.yml", "every runbook is present"),
            ),
        ),
        StepPlan(
            "03",
            "environment: load balancer, drift, outside audits, scale-out",
            ("loadbalancers", "webservers"),
            (
                Run("playbooks/loadbalancer.yml", "traffic reaches every backend"),
                Run("playbooks/site.yml", "drift check: check mode changes nothing", check=True),
                Run("playbooks/hardening_audit.yml", "ssh-audit and Lynis from outside"),
                Run("playbooks/tls_grade.yml", "the public endpoint's grade, after the audits"),
                ScaleOut(scale_host),
                # Gate 03a's load-balancing criterion: requests through the
                # load balancer reach every backend, the new one among them.
                Run("playbooks/validate.yml", "traffic reaches every backend, the new one too"),
            ),
        ),
        StepPlan(
            "04",
            "integration: validation, rolling deploy under load, canary, host loss",
            ("loadbalancers", "webservers", "monitoring_servers"),
            (
                Run("playbooks/validate.yml", "HTTPS, backends, targets, alerts, backups"),
                Run(
                    "playbooks/deploy_under_load.yml",
                    "rolling deploy under load",
                    extravars={"release_version": releases["under_load"]},
                ),
                Run(
                    "playbooks/drill_canary.yml",
                    "a failing canary is rolled back",
                    extravars={"drill_canary_release": releases["broken"]},
                ),
                Run("playbooks/drill_host_loss.yml", "a backend is lost under load"),
            ),
        ),
    )


@dataclass(frozen=True)
class Decision:
    """How step 06 is answered: by name, without a prompt (CI), or not yet."""

    approver: str | None = None
    decision: str | None = None
    conditions: str | None = None


class Reporter:
    """What the pipeline tells as it goes; the CLI prints it, tests collect it."""

    def stage(self, key: str, title: str, state: str) -> None:
        """Tell that a stage starts, was done before, or ended with a verdict."""

    def action(self, step: str, what: str, result: RunResult | None, seconds: float) -> None:
        """Tell that an action of a run step ended."""

    def note(self, text: str) -> None:
        """Anything else worth saying."""


@dataclass
class PipelineResult:
    """Where the pipeline stopped, and what it decided.

    Attributes:
        status: ``decided``, ``awaiting_decision``, ``gate_failed`` or ``step_failed``.
        stage: The last stage it worked on.
        reason: Why it stopped, when it stopped early.
        verdicts: Each stage's verdict in this invocation or the one it resumed from.
        decision: The authorization decision, when recorded.
        report: The HTML report's path.
        screenshot: The report rendered by headless Chromium, when Chromium is installed.
        seconds: The wall time of this invocation.

    """

    status: str
    stage: str
    reason: str = ""
    verdicts: dict[str, str] = field(default_factory=dict)
    decision: StoredRecord | None = None
    report: Path | None = None
    screenshot: Path | None = None
    seconds: float = 0.0
    skipped: list[str] = field(default_factory=list)


@dataclass
class Pipeline:
    """The E5 pipeline over one inventory and evidence directory.

    Attributes:
        project: The project root.
        inventory: The inventory every step runs against.
        scope_path: The scope file (None: ``scope.yml`` or the packaged default).
        evidence_dir: Where records go (None: the project's default).
        lab: The lab to bring up and scale out, when the inventory is a lab's.
        plan: What each run step runs.
        decision: How step 06 is answered.
        ask: Asks a person for the decision when none is given (None: never).

    """

    project: Path
    inventory: Path
    scope_path: Path | None = None
    evidence_dir: Path | None = None
    lab: Lab | None = None
    lab_hosts: tuple[str, ...] = ()
    plan: tuple[StepPlan, ...] = field(default_factory=default_plan)
    decision: Decision = field(default_factory=Decision)
    ask: Callable[[StoredRecord], Decision] | None = None
    reporter: Reporter = field(default_factory=Reporter)

    def __post_init__(self) -> None:
        """Resolve the evidence settings."""
        self.config = EvidenceConfig.for_project(self.project, directory=self.evidence_dir)

    # -- before anything is touched ------------------------------------------------------

    def load_scope(self) -> Scope:
        """Read the scope and match each criterion with what the steps run.

        Raises:
            ScopeError: The scope is invalid, lacks a gate's criteria, or binds a
                criterion to a playbook its step does not run (file and line).

        """
        scope = load_scope(self.scope_path)
        steps = {plan.key: plan for plan in self.plan}
        for gate, reviewed in GATES.items():
            spec = scope.gates.get(gate)
            if not spec or not spec.get("criteria"):
                line = criterion_line(scope, gate, None)
                msg = f"{scope.source}:{line}: gate {gate} has no criteria"
                raise ScopeError(msg, hint="every gate needs its criteria; see the packaged scope")
            plan = steps.get(reviewed)
            if plan is None:
                continue
            runs = plan.playbooks
            for index, criterion in enumerate(spec["criteria"]):
                playbook = (criterion.get("params") or {}).get("playbook")
                if playbook is None:
                    continue
                check_mode = criterion["check"] == "no_drift"
                if (playbook, check_mode) not in runs:
                    line = criterion_line(scope, gate, index)
                    mode = " in check mode" if check_mode else ""
                    msg = (
                        f"{scope.source}:{line}: criterion {criterion['id']!r} of gate {gate} "
                        f"measures {playbook}{mode}, which step {reviewed} does not run"
                    )
                    ran = ", ".join(p + (" (check)" if c else "") for p, c in runs)
                    raise ScopeError(msg, hint=f"step {reviewed} runs: {ran}")
        return scope

    def check_inventory(self, stages: list[str]) -> None:
        """Refuse an inventory without a group that one of ``stages`` needs.

        Raises:
            UsageError: A group is missing or empty; names the inventory file and line.

        """
        groups = inventory_groups(self.inventory)
        for plan in self.plan:
            if plan.key not in stages:
                continue
            for group in plan.needs:
                if groups.get(group):
                    continue
                where, line = _inventory_anchor(self.inventory)
                books = ", ".join(p for p, _ in plan.playbooks)
                msg = (
                    f"{where}:{line}: the inventory has no host in group {group!r}, "
                    f"which step {plan.key} needs ({books})"
                )
                hint = (
                    f"add {group} under all.children with at least one host "
                    "(inventories/example/ shows every group)"
                )
                raise UsageError(msg, hint=hint)

    # -- progress, read from the evidence ------------------------------------------------------

    def progress(self, store: EvidenceStore, scope: Scope) -> dict[str, StoredRecord | None]:
        """Return, for each stage, the record that shows it done (None: not done).

        A stage is done when its latest record passes and comes after the
        record of the stage before it. The scope is done only when the
        recorded scope is this very text.
        """
        records = store.records()
        latest: dict[str, StoredRecord] = {}
        for record in records:
            latest[record.step] = record
        done: dict[str, StoredRecord | None] = dict.fromkeys(STAGES)
        previous = 0
        for stage in STAGES:
            found = latest.get(_GATE_OF.get(stage, stage))
            if found is None or found.sequence < previous or not _passes(found, scope):
                break
            done[stage] = found
            previous = found.sequence
        return done

    # -- the run -------------------------------------------------------------------------------

    def run(self, *, from_stage: str | None = None) -> PipelineResult:
        """Run every stage not yet done (or from ``from_stage`` on) and decide.

        Raises:
            ScopeError: The scope is invalid (nothing was touched).
            UsageError: The inventory lacks a group, or ``from_stage`` is unknown.
            E5opsError: A run could not start, the evidence does not verify, ...

        """
        started = time.monotonic()
        if from_stage is not None and from_stage not in STAGES:
            msg = f"no stage {from_stage!r}"
            raise UsageError(msg, hint="stages: " + ", ".join(STAGES))
        scope = self.load_scope()
        self._ensure_key()
        if self.lab is not None:
            self._bring_up_lab()
        store = open_verified_store(self.config)
        done = self.progress(store, scope)
        first = next((s for s in STAGES if done[s] is None), None)
        if from_stage is not None and (
            first is None or STAGES.index(from_stage) < STAGES.index(first)
        ):
            first = from_stage
        result = PipelineResult(status="decided", stage="06")
        todo = list(STAGES[STAGES.index(first) :]) if first is not None else []
        result.skipped = [s for s in STAGES if s not in todo]
        for stage in result.skipped:
            record = done[stage]
            assert record is not None  # noqa: S101 - skipped stages are done
            result.verdicts[_GATE_OF.get(stage, stage)] = verdict_of(record)
            self.reporter.stage(stage, record.record["title"], "done before")
        if not todo:
            self.reporter.note("every stage is done already; --from STAGE runs one again")
            result.decision = done["06"]
            return self._finish(store, result, started)
        self.check_inventory(todo)
        for stage in todo:
            result.stage = stage
            if not self._run_stage(store, scope, stage, result):
                return self._finish(store, result, started)
        return self._finish(store, result, started)

    def _run_stage(
        self, store: EvidenceStore, scope: Scope, stage: str, result: PipelineResult
    ) -> bool:
        if stage == "00":
            stored = define_scope(store, scope)
            verdict = str(stored.record["scope"]["verdict"])
            result.verdicts[stage] = verdict
            self.reporter.stage(stage, "scope", verdict)
            return verdict == "PASS"
        if stage == "05":
            stored = assess(store)
            verdict = stored.record["assessment"]["recommendation"]
            result.verdicts[stage] = verdict
            self.reporter.stage(stage, "technical assessment", verdict)
            return True
        if stage == "06":
            return self._decide(store, result)
        plan = next(p for p in self.plan if p.key == stage)
        self.reporter.stage(stage, plan.title, "running")
        since = store.records()[-1].sequence if store.records() else 0
        for action in plan.actions:
            failure = self._act(stage, action)
            if failure:
                result.status, result.reason = "step_failed", failure
                result.verdicts[stage] = "FAILED"
                return False
        gate = _GATE_OF[stage]
        stored = review_gate(store, gate, since=since)
        review = stored.record["review"]
        result.verdicts[gate] = review["verdict"]
        self.reporter.stage(gate, stored.record["title"], review["verdict"])
        if review["verdict"] not in _PASSING:
            failed = [c for c in review["criteria"] if c["verdict"] == "FAILED"]
            result.status = "gate_failed"
            result.reason = f"gate {gate} failed: " + "; ".join(
                f"{c['id']}: {c['detail']}" for c in failed
            )
            return False
        return True

    def _act(self, stage: str, action: Action) -> str | None:
        """Carry out one action; return why it failed, or None."""
        started = time.monotonic()
        extravars: dict[str, Any] = {}
        if isinstance(action, ScaleOut):
            self._add_host(action.host)
            extravars = {"scale_hosts": action.host}
            check = False
        else:
            extravars = dict(action.extravars)
            check = action.check
        result = run_playbook(
            project=self.project,
            playbook=action.playbook,
            inventory=self.inventory,
            extravars=extravars or None,
            check=check,
            step=stage,
            record=True,
            evidence_dir=self.evidence_dir,
        )
        self.reporter.action(stage, action.why, result, time.monotonic() - started)
        if not result.complete:
            return f"{action.playbook} was cut short; its record is marked incomplete"
        if not result.ok:
            failures = (
                "; ".join(f"{f.host}: {f.task}: {f.message}" for f in result.failures[:3])
                or f"rc {result.rc}"
            )
            return f"{action.playbook} failed ({failures}); evidence: {result.evidence}"
        return None

    def _add_host(self, host: str) -> None:
        if self.lab is None:
            groups = inventory_groups(self.inventory)
            if not any(host in members for members in groups.values()):
                msg = f"the scale-out host {host} is not in the inventory {self.inventory}"
                raise UsageError(msg, hint="add it to webservers, or pass --scale-host NAME")
            return
        started = time.monotonic()
        removed = self.lab.remove((host,))
        up = self.lab.up((*self.lab_hosts, host))
        verb = "recreated bare" if removed else "created"
        self.reporter.note(
            f"lab: {host} {verb} in {time.monotonic() - started:.1f}s ({up.inventory})"
        )

    def _decide(self, store: EvidenceStore, result: PipelineResult) -> bool:
        decision = self.decision
        assessment = store.latest("05")
        if decision.decision is None and self.ask is not None and assessment is not None:
            decision = self.ask(assessment)
        if decision.decision is None or not decision.approver:
            result.status = "awaiting_decision"
            result.reason = (
                "the technical assessment is written; the decision needs a named approver: "
                "rerun with --approver NAME --decision authorize|conditional|deny, "
                "or record it with `e5ops authorize`"
            )
            return False
        stored = authorize(
            store,
            approver=decision.approver,
            decision=decision.decision,
            conditions=decision.conditions,
        )
        result.decision = stored
        result.verdicts["06"] = stored.record["decision"]["decision"]
        self.reporter.stage("06", "authorization decision", result.verdicts["06"])
        return True

    def _finish(
        self, store: EvidenceStore, result: PipelineResult, started: float
    ) -> PipelineResult:
        key = self.config.key.with_suffix(".pub")
        verification = verify_directory(self.config.directory, key=public_key(key))
        result.report = write_report(
            gather(store, verification), self.config.directory / "report.html"
        )
        result.screenshot = render_screenshot(result.report)
        result.seconds = time.monotonic() - started
        return result

    def _ensure_key(self) -> None:
        if self.config.key.is_file():
            return
        if self.lab is None:
            msg = f"no evidence signing key at {self.config.key}"
            raise UsageError(msg, hint="create it with `e5ops evidence init` and keep it safe")
        pair = create_key(private=default_private_key(self.project))
        self.reporter.note(
            f"evidence key created for the lab: {pair.private} (key id {pair.keyid})"
        )

    def _bring_up_lab(self) -> None:
        assert self.lab is not None  # noqa: S101 - only called with a lab
        up = self.lab.up(self.lab_hosts)
        if up.changed:
            made = ", ".join((*up.created, *up.started, *up.repaired))
            self.reporter.note(f"lab {self.lab.config.name}: {made} up in {up.seconds:.1f}s")


def verdict_of(record: StoredRecord) -> str:
    """Return the verdict a scope, gate review, assessment or decision record holds."""
    body = record.record
    if record.kind == "scope":
        return str(body["scope"]["verdict"])
    if record.kind == "gate_review":
        return str(body["review"]["verdict"])
    if record.kind == "assessment":
        return str(body["assessment"]["recommendation"])
    if record.kind == "authorization":
        return str(body["decision"]["decision"])
    return str(body["run"]["status"])


def _passes(record: StoredRecord, scope: Scope) -> bool:
    body = record.record
    if record.kind == "scope":
        return bool(body["scope"]["verdict"] == "PASS" and body["scope"]["text"] == scope.text)
    if record.kind == "gate_review":
        return body["review"]["verdict"] in _PASSING
    if record.kind == "assessment":
        return True
    return record.kind == "authorization"


def inventory_groups(inventory: Path) -> dict[str, list[str]]:
    """Return each group of an inventory with its hosts (children included).

    Raises:
        UsageError: The inventory does not exist or ansible-inventory cannot read it.

    """
    if not inventory.exists():
        msg = f"inventory {inventory} does not exist"
        raise UsageError(msg, hint="give an inventory with -i, or use the lab's")
    command = [
        str(Path(sys.executable).parent / "ansible-inventory"),
        "-i",
        str(inventory),
        "--list",
    ]
    try:
        listed = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", "") or ""
        msg = f"ansible-inventory cannot read {inventory}: {stderr.strip() or exc}"
        raise UsageError(msg) from exc
    data = json.loads(listed.stdout)
    children = {g: v.get("children", []) for g, v in data.items() if g != "_meta"}

    def members(group: str, seen: frozenset[str] = frozenset()) -> list[str]:
        hosts = list(data.get(group, {}).get("hosts", []))
        for child in children.get(group, []):
            if child not in seen:
                hosts += members(child, seen | {group})
        return sorted(set(hosts))

    return {group: members(group) for group in children}


def _inventory_anchor(inventory: Path) -> tuple[str, int]:
    """Return the inventory file and the line where groups belong (``children:``)."""
    files = (
        sorted(
            p
            for p in inventory.iterdir()
            if p.suffix in {".yml", ".yaml", ".ini", ""} and p.is_file()
        )
        if inventory.is_dir()
        else [inventory]
    )
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip().startswith("children:"):
                return str(path), number
    return str(files[0] if files else inventory), 1


def render_screenshot(report: Path) -> Path | None:
    """Render the report in headless Chromium as a PNG beside it; None without Chromium."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return None
    shot = report.with_suffix(".png")
    profile = tempfile.mkdtemp(prefix="e5ops-chromium-")
    command = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--force-device-scale-factor=1", "--window-size=1280,2200",
        f"--user-data-dir={profile}", f"--screenshot={shot}", report.resolve().as_uri(),
    ]  # fmt: skip
    try:
        subprocess.run(command, capture_output=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("chromium could not render %s: %s", report, exc)
        return None
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return shot if shot.is_file() else None


__all__ = [
    "STAGES",
    "Decision",
    "Pipeline",
    "PipelineResult",
    "Reporter",
    "Run",
    "ScaleOut",
    "StepPlan",
    "default_plan",
    "inventory_groups",
]
