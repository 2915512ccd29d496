"""Run a job through ansible-runner's streaming: transmit, worker, process.

This is how AWX and Ansible Automation Platform run a job on an execution
node: the controller *transmits* the job (its arguments and private data
directory) as one stream, a *worker* on the execution node unpacks it, runs
ansible-playbook and streams back status lines, events and finally the
artifacts, and the controller *processes* that stream. Here the worker is an
``ansible-runner worker`` process on the same machine, fed through pipes, so
the job crosses the same protocol and a process boundary, as it would cross
the network through receptor.

The project directory is sent by path, not inside the stream: the worker must
see the same checkout (true on one machine and in an execution environment
built from ``execution-environment.yml`` with the project mounted).
"""

from __future__ import annotations

import json
import logging
import shutil
import signal
import subprocess
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ansible_runner

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

_STAT_KEYS = ("skipped", "ok", "dark", "failures", "ignored", "rescued", "processed", "changed")


@dataclass(frozen=True)
class _Config:
    artifact_dir: str


@dataclass
class StreamedRun:
    """What the process step leaves, shaped like ansible-runner's ``Runner``.

    Attributes:
        status: The last status the worker sent: ``successful``, ``failed``, ``error``...
        rc: ansible-playbook's exit code, from the artifacts the worker sent back.
        config: Holds ``artifact_dir``, where the processed artifacts are.
        explanation: Why the worker gave up, when it did.

    """

    status: str
    rc: int
    config: _Config
    explanation: str = ""
    _events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def events(self) -> Iterator[dict[str, Any]]:
        """Yield the run's events in the order Ansible emitted them."""
        yield from self._events

    @property
    def stats(self) -> dict[str, Any] | None:
        """Return the recap of the ``playbook_on_stats`` event, as ``Runner.stats`` does."""
        for event in self._events:
            if event.get("event") == "playbook_on_stats":
                data = event.get("event_data", {})
                return {key: data.get(key, {}) for key in _STAT_KEYS}
        return None


def _load_events(artifact_dir: Path) -> list[dict[str, Any]]:
    events = []
    for path in (artifact_dir / "job_events").glob("*.json"):
        try:
            events.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            log.debug("skipping unreadable event file %s", path)
    return sorted(events, key=lambda event: int(event.get("counter", 0)))


def _rc(artifact_dir: Path, status: str) -> int:
    try:
        return int((artifact_dir / "rc").read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return 0 if status == "successful" else 1


def stream_job(
    job: dict[str, Any],
    *,
    artifacts: Path,
    bindir: str,
    feed: Callable[[dict[str, Any]], bool],
    cancel: Callable[[], bool],
    rotate: Callable[[Path], None],
) -> StreamedRun:
    """Transmit ``job``, run it in an ``ansible-runner worker`` and process what comes back.

    Args:
        job: Keyword arguments of ``ansible_runner.run`` (``private_data_dir``
            included), without handlers or artifact settings.
        artifacts: The directory under which the run's artifacts are kept.
        bindir: Where the ``ansible-runner`` program is.
        feed: Called with each event, as ``event_handler`` of a direct run.
        cancel: Polled; when it returns True the worker is interrupted.
        rotate: Called with ``artifacts`` at the end, to drop old runs' artifacts.

    Raises:
        OSError: The worker could not be started.

    """
    ident = str(uuid.uuid4())
    artifact_dir = artifacts / ident
    worker_dir = Path(tempfile.mkdtemp(prefix="worker-", dir=Path(job["private_data_dir"]).parent))
    explanation: list[str] = []

    def status_handler(data: dict[str, Any], **_: Any) -> None:  # noqa: ANN401 - runner's config
        if data.get("job_explanation"):
            explanation.append(str(data["job_explanation"]))

    try:
        with tempfile.TemporaryFile() as transmitted:
            ansible_runner.run(streamer="transmit", _output=transmitted, ident=ident, **job)
            transmitted.seek(0)
            # An OSError here (no ansible-runner) is the caller's "could not start".
            worker = subprocess.Popen(
                [str(Path(bindir) / "ansible-runner"), "worker", "--private-data-dir", worker_dir],
                stdin=transmitted,
                stdout=subprocess.PIPE,
            )
            stop = threading.Event()
            watcher = threading.Thread(target=_watch, args=(worker, cancel, stop), daemon=True)
            watcher.start()
            try:
                processor = ansible_runner.run(
                    streamer="process",
                    _input=worker.stdout,
                    private_data_dir=job["private_data_dir"],
                    artifact_dir=str(artifact_dir),
                    quiet=job.get("quiet", True),
                    event_handler=feed,
                    status_handler=status_handler,
                )
            finally:
                stop.set()
                worker.wait()
                watcher.join()
    finally:
        shutil.rmtree(worker_dir, ignore_errors=True)
        rotate(artifacts)
    # The worker's raw output comes back with its artifacts; it holds what the
    # play printed, secrets included, which a direct run never writes (its
    # events, kept redacted, are the record).
    for raw in ("stdout", "stderr"):
        (artifact_dir / raw).unlink(missing_ok=True)
    status = str(processor.status)
    if explanation:
        log.warning("the streamed run of %s ended %s: %s", job["playbook"], status, explanation[-1])
    if cancel():
        status = "canceled"
    return StreamedRun(
        status=status,
        rc=_rc(artifact_dir, status),
        config=_Config(str(artifact_dir)),
        explanation="; ".join(explanation),
        _events=_load_events(artifact_dir),
    )


def _watch(
    worker: subprocess.Popen[bytes], cancel: Callable[[], bool], stop: threading.Event
) -> None:
    """Interrupt the worker, as Ctrl-C would, once ``cancel`` says so."""
    while not stop.wait(0.5):
        if cancel():
            worker.send_signal(signal.SIGINT)
            return
