"""Run the collection's playbooks through ansible-runner and return a typed result."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

import ansible_runner

from e5ops.errors import RunError, UsageError
from e5ops.evidence.keys import default_private_key
from e5ops.evidence.redact import REDACTED
from e5ops.evidence.session import EvidenceConfig, start_run
from e5ops.evidence.store import now
from e5ops.evidence.vault import secrets_from_config, vault_plaintexts
from e5ops.project import state_dir
from e5ops.streaming import stream_job

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from e5ops.evidence.recorder import RunRecorder, TaskRecord
    from e5ops.evidence.redact import Redactor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostStats:
    """Ansible's recap for one host."""

    ok: int = 0
    changed: int = 0
    failures: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass(frozen=True)
class TaskFailure:
    """A task that failed, or a host that could not be reached."""

    host: str
    task: str
    message: str
    unreachable: bool = False


@dataclass(frozen=True)
class RunResult:
    """The outcome of one playbook run.

    Attributes:
        playbook: The playbook, as given.
        status: ansible-runner's status: ``successful``, ``failed``, ``canceled``...
        rc: The exit code of ansible-playbook.
        seconds: Wall time of the run.
        hosts: Ansible's recap per host.
        failures: Failed tasks and unreachable hosts (ignored failures left out).
        artifact_dir: ansible-runner's artifacts of the run.
        tasks: Every task's result on every host, with durations, redacted.
        published: What the play published for evidence with ``set_stats``, redacted.
        started: When the run started (ISO 8601, UTC).
        ended: When it ended.
        evidence: The signed envelope of the run's evidence record, if one was written.
        complete: False when the run was cut short (a signal, an error of the runner).

    """

    playbook: str
    status: str
    rc: int
    seconds: float
    hosts: dict[str, HostStats] = field(default_factory=dict)
    failures: tuple[TaskFailure, ...] = ()
    artifact_dir: Path | None = None
    tasks: tuple[TaskRecord, ...] = ()
    published: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    ended: str = ""
    evidence: Path | None = None
    complete: bool = True

    @property
    def ok(self) -> bool:
        """Tell whether the run succeeded on every host."""
        return self.status == "successful" and self.rc == 0

    @property
    def changed(self) -> int:
        """Count the changed tasks over all hosts."""
        return sum(stats.changed for stats in self.hosts.values())


@dataclass(frozen=True)
class ProgressEvent:
    """What a run reports while it goes, for a progress display.

    Attributes:
        kind: ``play``, ``task`` (a task starts) or ``result`` (a host finished a task).
        name: The play's or task's name.
        host: The host, for results.
        status: ``ok``, ``changed``, ``failed``, ``skipped`` or ``unreachable``, for results.

    """

    kind: str
    name: str
    host: str = ""
    status: str = ""


_RESULT_EVENTS = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_skipped": "skipped",
    "runner_on_unreachable": "unreachable",
}


class _EventFeed:
    """Feeds ansible-runner's events to the evidence recorder and the progress observer."""

    def __init__(
        self, recorder: RunRecorder, observer: Callable[[ProgressEvent], None] | None
    ) -> None:
        self.recorder = recorder
        self.observer = observer
        self.published: dict[str, Any] = {}

    def __call__(self, event: dict[str, Any]) -> bool:
        """Take one event; redact it in place, since ansible-runner writes it to artifacts."""
        kind = event.get("event", "")
        data = event.get("event_data", {})
        raw = data.get("res") or {}
        redactor = self.recorder.redactor
        if isinstance(event.get("stdout"), str):
            event["stdout"] = redactor.text(event["stdout"])
        for key, value in list(data.items()):
            data[key] = redactor.value(value) if key != "res" else redactor.result(raw)
        status = _RESULT_EVENTS.get(kind)
        if status is not None:
            task = self.recorder.task_result(
                host=str(data.get("host", "?")),
                task=str(data.get("task", "")),
                play=str(data.get("play", "")),
                action=str(data.get("resolved_action") or data.get("task_action", "")),
                status=status,
                result=raw if isinstance(raw, dict) else {},
                ignored=bool(data.get("ignore_errors")),
                started=data.get("start"),
                ended=data.get("end"),
            )
            self._tell(ProgressEvent("result", task.task, task.host, task.status))
        elif kind in {"playbook_on_task_start", "playbook_on_handler_task_start"}:
            self._tell(ProgressEvent("task", str(data.get("task", ""))))
        elif kind == "playbook_on_play_start":
            self._tell(ProgressEvent("play", str(data.get("play", ""))))
        elif kind == "playbook_on_stats":
            self.published = dict(data.get("artifact_data") or {})
        return True

    def _tell(self, event: ProgressEvent) -> None:
        if self.observer is not None:
            self.observer(event)


class _Cancel:
    """Turns SIGINT and SIGTERM into a cancelled run, so that its record is still written."""

    def __init__(self) -> None:
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Self:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._catch)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _catch(self, signum: int, _frame: object) -> None:
        self.signal = signal.Signals(signum).name

    def __call__(self) -> bool:
        return self.signal is not None


def _host_stats(stats: dict[str, Any] | None) -> dict[str, HostStats]:
    per_host: dict[str, dict[str, int]] = {}
    for key, by_host in (stats or {}).items():
        if key in {"ok", "changed", "failures", "dark", "skipped", "rescued", "ignored"}:
            for host, count in by_host.items():
                per_host.setdefault(host, {})["unreachable" if key == "dark" else key] = count
    return {host: HostStats(**counts) for host, counts in sorted(per_host.items())}


def _failures(events: Any) -> tuple[TaskFailure, ...]:  # noqa: ANN401 - runner's event stream
    found = []
    for event in events:
        kind = event.get("event")
        if kind not in {"runner_on_failed", "runner_on_unreachable"}:
            continue
        data = event.get("event_data", {})
        if data.get("ignore_errors"):
            continue
        result = data.get("res", {})
        message = str(result.get("msg") or result.get("stderr") or result.get("reason") or "")
        found.append(
            TaskFailure(
                host=str(data.get("host", "?")),
                task=str(data.get("task", "?")),
                message=message.strip(),
                unreachable=kind == "runner_on_unreachable",
            )
        )
    return tuple(found)


def _write_private(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` as JSON to a new file only its owner can read."""
    path.parent.mkdir(mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(data, handle)


def _invoke(
    *,
    project: Path,
    playbook: Path,
    inventory: Path,
    limit: str | None,
    extravars: dict[str, Any] | None,
    tags: str | None,
    check: bool,
    quiet: bool,
    feed: _EventFeed,
    cancel: _Cancel,
    streaming: bool = False,
) -> Any:  # noqa: ANN401 - ansible-runner's Runner, or a _StreamedRun
    """Run ansible-runner in a private directory of its own, removed afterwards.

    ansible-runner saves envvars, extravars and cmdline under ``env/`` of its
    private directory and applies them to every later run there, so one
    directory shared by all runs leaks one run's variables (and secrets) into
    the next. Here each run gets its own, and extra variables travel in its
    0600 ``env/extravars`` file rather than on the command line that
    ansible-runner saves as an artifact. With ``streaming``, the job goes
    through ansible-runner's transmit, worker and process steps instead.
    """
    state = state_dir(project) / "runner"
    state.mkdir(exist_ok=True)
    # ansible-playbook is found beside the interpreter running e5ops, so a
    # virtual environment works without being on PATH. The callback plugin
    # stays silent under the runner, which records the run itself.
    bindir = str(Path(sys.executable).parent)
    envvars = {
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "PATH": os.pathsep.join([bindir, os.environ.get("PATH", "")]),
        "ANSIBLE_FORCE_COLOR": "0",
        "E5OPS_EVIDENCE_RECORDER": "runner",
    }
    with tempfile.TemporaryDirectory(prefix="run-", dir=state) as private:
        if extravars:
            # ansible-runner passes env/extravars of the private directory as
            # `-e @file`; in a streamed job the file travels with the directory.
            _write_private(Path(private) / "env" / "extravars", extravars)
        job: dict[str, Any] = {
            "private_data_dir": private,
            "project_dir": str(project),
            "playbook": str(playbook),
            # Absolute: a streamed job's worker reads a relative inventory
            # path inside its own private directory.
            "inventory": str(inventory.resolve()),
            "limit": limit,
            "tags": tags,
            "cmdline": "--check --diff" if check else None,
            "envvars": envvars,
            "suppress_env_files": True,
            "quiet": quiet,
            # The raw stdout file would hold what plays print, secrets included;
            # the events kept are the redacted ones.
            "suppress_output_file": True,
        }
        if streaming:
            return stream_job(
                job,
                artifacts=state / "artifacts",
                bindir=bindir,
                feed=feed,
                cancel=cancel,
                rotate=partial(_rotate_artifacts, keep=KEEP_ARTIFACTS),
            )
        try:
            return ansible_runner.run(
                **job,
                artifact_dir=str(state / "artifacts"),
                event_handler=feed,
                cancel_callback=cancel,
            )
        finally:
            _rotate_artifacts(state / "artifacts", keep=KEEP_ARTIFACTS)


KEEP_ARTIFACTS = 20
_FINISHED = frozenset({"successful", "failed", "canceled", "timeout", "error"})


def _rotate_artifacts(parent: Path, *, keep: int) -> None:
    """Remove the artifacts of the oldest finished runs, keeping the newest ``keep``.

    ansible-runner's own rotation removes the oldest directories whatever
    their state, so with several e5ops processes at once (a pipeline beside a
    test) one run deleted another's artifacts while it was still writing them.
    A run's ``status`` file holds a final state only once it has ended, and a
    streamed run's arrives with its artifacts at the end: runs in flight have
    none, and are left alone.
    """
    finished = []
    for directory in parent.iterdir() if parent.is_dir() else ():
        try:
            state = (directory / "status").read_text(encoding="utf-8").strip()
        except OSError:
            continue
        if state in _FINISHED:
            finished.append(directory)
    finished.sort(key=lambda directory: directory.stat().st_mtime)
    for directory in finished[: max(len(finished) - keep, 0)]:
        shutil.rmtree(directory, ignore_errors=True)


def _scrub_command_artifact(artifact_dir: Path, redactor: Redactor) -> None:
    """Redact the command and environment that ansible-runner saved for the run."""
    path = artifact_dir / "command"
    if not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    saved["command"] = [redactor.text(str(part)) for part in saved.get("command", [])]
    saved["env"] = {
        name: REDACTED if redactor.is_secret_key(name) else redactor.text(str(value))
        for name, value in (saved.get("env") or {}).items()
    }
    scrubbed = path.with_suffix(".scrubbed")
    scrubbed.write_text(json.dumps(saved), encoding="utf-8")
    scrubbed.chmod(0o600)
    scrubbed.replace(path)


def _redactor(
    config: EvidenceConfig, *, project: Path, inventory: Path, extravars: dict[str, Any] | None
) -> Redactor:
    """Return a redactor that knows the run's vault plaintexts and secret extra vars."""
    redactor = config.redactor()
    vault_secrets = secrets_from_config(project / "ansible.cfg")
    for secret in vault_plaintexts(sources=[inventory], secrets=vault_secrets):
        redactor.add_secret(secret)
    for name, value in (extravars or {}).items():
        if isinstance(value, str) and redactor.is_secret_key(name):
            redactor.add_secret(value)
    return redactor


def run_playbook(
    *,
    project: Path,
    playbook: str,
    inventory: Path,
    limit: str | None = None,
    extravars: dict[str, Any] | None = None,
    tags: str | None = None,
    check: bool = False,
    quiet: bool = True,
    step: str | None = None,
    record: bool | None = None,
    evidence_dir: Path | None = None,
    artifacts: Sequence[Path] = (),
    observer: Callable[[ProgressEvent], None] | None = None,
    streaming: bool = False,
) -> RunResult:
    """Run ``playbook`` (relative to the project) against ``inventory`` and record it.

    Args:
        project: The project root (the collection checkout).
        playbook: The playbook, relative to the project.
        inventory: An inventory file or directory.
        limit: Hosts or groups to limit the run to.
        extravars: Extra variables for the run.
        tags: Only run tasks with these tags (comma-separated).
        check: Run in check mode with diff.
        quiet: Do not echo ansible-playbook's output.
        step: The E5 step the run is an attempt at (``01`` to ``04``); a run
            without one is recorded as ``run_<playbook>``.
        record: Write an evidence record: True requires the signing key, False
            writes none, None (the default) records when the key exists.
        evidence_dir: Where to record (default: ``E5OPS_EVIDENCE_DIR`` or ``evidence/e5``).
        artifacts: Release artifacts the run deploys; their digests become subjects.
        observer: Called with each play, task and host result, for progress displays.
        streaming: Send the job through ansible-runner's transmit, worker and
            process streaming, as AWX's execution nodes do (see
            :func:`e5ops.streaming.stream_job`); the record is the same as a
            direct run's.

    Raises:
        UsageError: The playbook or inventory does not exist.
        RunError: ansible-runner or ansible-playbook could not start.
        EvidenceError: Recording was required and the signing key cannot be loaded.

    """
    path = project / playbook
    if not path.is_file():
        msg = f"playbook {playbook} not found in {project}"
        raise UsageError(msg, hint=f"playbooks available: {_playbooks(project)}")
    if not inventory.exists():
        msg = f"inventory {inventory} does not exist"
        hint = "for the lab, run `e5ops lab up` first; it writes inventories/lab/hosts.yml"
        raise UsageError(msg, hint=hint)
    config = EvidenceConfig.for_project(project, directory=evidence_dir)
    if record is None:
        record = default_private_key(project).is_file()
        if not record:
            log.warning("no evidence signing key: the run of %s is not recorded", playbook)
    recorder = start_run(
        config,
        redactor=_redactor(config, project=project, inventory=inventory, extravars=extravars),
        playbook=path,
        inventory=[inventory],
        limit=limit,
        tags=tags,
        check=check,
        recorder="runner",
        step_key=step,
        artifacts=artifacts,
        record=record,
    )
    started = time.monotonic()
    feed = _EventFeed(recorder, observer)
    with _Cancel() as cancel:
        try:
            result = _invoke(
                project=project,
                playbook=path,
                inventory=inventory,
                limit=limit,
                extravars=extravars,
                tags=tags,
                check=check,
                quiet=quiet,
                feed=feed,
                cancel=cancel,
                streaming=streaming,
            )
        except (OSError, RuntimeError) as exc:
            recorder.abort(f"ansible-runner could not run the playbook: {exc}")
            msg = f"ansible-runner could not start {playbook}: {exc}"
            raise RunError(msg) from exc
        except BaseException as exc:
            recorder.abort(f"the controller stopped the run: {type(exc).__name__}")
            raise
    seconds = time.monotonic() - started
    if result.rc == 127:  # noqa: PLR2004 - the shell's "command not found"
        recorder.abort("ansible-playbook was not found")
        msg = f"ansible-playbook was not found to run {playbook}"
        raise RunError(msg, hint="install e5ops with its dependencies: make bootstrap")
    _scrub_command_artifact(Path(result.config.artifact_dir), recorder.redactor)
    hosts = _host_stats(result.stats)
    if cancel.signal or result.status in {"canceled", "timeout"}:
        stored = recorder.abort(f"the run was cut short ({cancel.signal or result.status})")
        complete = False
    else:
        stored = recorder.finish(
            hosts={h: asdict(s) for h, s in hosts.items()},
            published=feed.published,
            rc=int(result.rc),
        )
        complete = True
    log.debug("run of %s ended %s rc=%s in %.1fs", playbook, result.status, result.rc, seconds)
    return RunResult(
        playbook=playbook,
        status=str(result.status),
        rc=int(result.rc),
        seconds=seconds,
        hosts=hosts,
        failures=_failures(result.events),
        artifact_dir=Path(result.config.artifact_dir),
        tasks=tuple(recorder.tasks),
        published=recorder.redactor.value(feed.published),
        started=recorder.started,
        ended=now(),
        evidence=stored.envelope if stored else None,
        complete=complete,
    )


def _playbooks(project: Path) -> str:
    return (
        ", ".join(
            sorted(p.relative_to(project).as_posix() for p in (project / "playbooks").glob("*.yml"))
        )
        or "none"
    )


def default_inventory(project: Path) -> Path:
    """Return the inventory to use when none is given: ``E5OPS_INVENTORY`` or the lab's."""
    return Path(os.environ.get("E5OPS_INVENTORY", project / "inventories" / "lab"))
