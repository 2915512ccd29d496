"""One recorder for both paths: ansible-runner's events and the callback plugin's hooks.

Both paths feed the same :class:`RunRecorder` with normalised task results, so
a run yields the same record whichever way it ran. While the run lasts, each
result (already redacted) is appended to a journal in ``.inflight/`` of the
evidence directory. A run that ends writes its record and removes the journal;
a run cut short by a signal writes a record marked incomplete; and the journal
of a controller that was killed outright becomes an incomplete record the next
time anything is recorded there (:func:`recover_stale`).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from e5ops.evidence.redact import Redactor, is_no_log
from e5ops.evidence.steps import Step
from e5ops.evidence.store import EvidenceStore, StoredRecord, Subject, now

if TYPE_CHECKING:
    from pathlib import Path

log = logging.getLogger(__name__)

STAT_KEYS = ("ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored")
MESSAGE_LIMIT = 500
INFLIGHT = ".inflight"


@dataclass(frozen=True)
class TaskRecord:
    """One task's result on one host, as recorded."""

    host: str
    task: str
    play: str
    action: str
    status: str
    changed: bool
    ignored: bool
    no_log: bool
    started: str | None
    ended: str | None
    seconds: float
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return the record's JSON form (no empty message)."""
        data = asdict(self)
        if not data["message"]:
            del data["message"]
        return data


def _seconds(started: str | None, ended: str | None) -> float:
    if not started or not ended:
        return 0.0
    delta = datetime.fromisoformat(ended) - datetime.fromisoformat(started)
    return max(round(delta.total_seconds(), 6), 0.0)


def failure_message(result: dict[str, Any]) -> str:
    """Return the short reason a result gives for failing, or an empty string."""
    for key in ("msg", "stderr", "reason", "exception"):
        value = result.get(key)
        if value:
            return str(value).strip()[:MESSAGE_LIMIT]
    return ""


@dataclass
class RunRecorder:
    """Collects one playbook run and writes it as an evidence record.

    Attributes:
        step: The step the run is an attempt at.
        playbook: The playbook, relative to the project.
        inventory: The inventory, relative to the project.
        limit: The run's ``--limit``.
        tags: The run's ``--tags``.
        check: Whether the run is in check mode.
        recorder: ``runner`` or ``callback``.
        subjects: The digests of the inventory, playbook and artifacts.
        store: Where to write; None records nothing (the runner's result still gets it).
        redactor: Takes secrets out before anything is kept.

    """

    step: Step
    playbook: str
    inventory: str | None
    limit: str | None
    tags: str | None
    check: bool
    recorder: str
    subjects: list[Subject]
    store: EvidenceStore | None = None
    redactor: Redactor = field(default_factory=Redactor)
    tasks: list[TaskRecord] = field(default_factory=list)
    started: str = field(default_factory=now)
    done: bool = False

    def __post_init__(self) -> None:
        """Open the journal, if recording to a store."""
        self._journal: Path | None = None
        if self.store is not None:
            inflight = self.store.directory / INFLIGHT
            inflight.mkdir(parents=True, exist_ok=True)
            self._journal = inflight / f"{uuid.uuid4().hex}.jsonl"
            header = {
                "pid": os.getpid(),
                "controller": platform.node(),
                "step": asdict(self.step),
                "subjects": [asdict(s) for s in self.subjects],
                **{k: getattr(self, k) for k in _HEADER_FIELDS},
            }
            self._journal.write_text(json.dumps(header) + "\n", encoding="utf-8")
            self._journal_handle = self._journal.open("a", encoding="utf-8")

    def task_result(
        self,
        *,
        host: str,
        task: str,
        play: str,
        action: str,
        status: str,
        result: dict[str, Any],
        ignored: bool = False,
        started: str | None = None,
        ended: str | None = None,
    ) -> TaskRecord:
        """Record one task's result on one host; the raw result is redacted here.

        Args:
            host: The inventory host name.
            task: The task's name.
            play: The play's name.
            action: The module or action, as Ansible resolved it.
            status: ``ok``, ``failed``, ``skipped`` or ``unreachable``; ``ok`` with
                ``changed`` in the result becomes ``changed``.
            result: The module's result; nothing of it is kept for ``no_log`` tasks.
            ignored: The failure was ignored (``ignore_errors``).
            started: When the task started on the host (ISO 8601).
            ended: When it ended (ISO 8601).

        """
        no_log = is_no_log(result)
        changed = bool(result.get("changed")) and status in {"ok", "failed"}
        if status == "ok" and changed:
            status = "changed"
        message = ""
        if status in {"failed", "unreachable"} and not no_log:
            message = self.redactor.text(failure_message(result))
        record = TaskRecord(
            host=host,
            task=self.redactor.text(task),
            play=self.redactor.text(play),
            action=action,
            status=status,
            changed=changed,
            ignored=ignored,
            no_log=no_log,
            started=started,
            ended=ended,
            seconds=_seconds(started, ended),
            message=message,
        )
        self.tasks.append(record)
        if self._journal is not None:
            self._journal_handle.write(json.dumps({"task": record.to_dict()}) + "\n")
            self._journal_handle.flush()
        return record

    def hosts_from_tasks(self) -> dict[str, dict[str, int]]:
        """Count each host's results from the tasks seen, for runs that ended early."""
        hosts: dict[str, dict[str, int]] = {}
        for task in self.tasks:
            counts = hosts.setdefault(task.host, dict.fromkeys(STAT_KEYS, 0))
            if task.status in {"ok", "changed"}:
                counts["ok"] += 1
            if task.changed:
                counts["changed"] += 1
            if task.status == "failed":
                counts["ignored" if task.ignored else "failures"] += 1
            if task.status == "unreachable":
                counts["unreachable"] += 1
            if task.status == "skipped":
                counts["skipped"] += 1
        return dict(sorted(hosts.items()))

    def body(
        self,
        *,
        hosts: dict[str, dict[str, int]],
        published: dict[str, Any],
        rc: int | None,
        status: str,
        ended: str | None,
    ) -> dict[str, Any]:
        """Return the ``run`` part of the record."""
        return {
            "run": {
                "playbook": self.playbook,
                "inventory": self.inventory,
                "limit": self.limit,
                "tags": self.tags,
                "check": self.check,
                "status": status,
                "rc": rc,
                "started": self.started,
                "ended": ended,
                "seconds": _seconds(self.started, ended or now()),
                "hosts": {h: {k: int(c.get(k, 0)) for k in STAT_KEYS} for h, c in hosts.items()},
                "tasks": [t.to_dict() for t in self.tasks],
                "published": self.redactor.value(published),
            }
        }

    def finish(
        self,
        *,
        hosts: dict[str, dict[str, int]],
        published: dict[str, Any],
        rc: int,
    ) -> StoredRecord | None:
        """Write the record of a run that ended (well or not) and drop the journal."""
        status = "successful" if rc == 0 else "failed"
        body = self.body(hosts=hosts, published=published, rc=rc, status=status, ended=now())
        return self._write(body, complete=True, reason=None)

    def abort(self, reason: str, *, published: dict[str, Any] | None = None) -> StoredRecord | None:
        """Write the record of a run cut short, marked incomplete, and drop the journal."""
        body = self.body(
            hosts=self.hosts_from_tasks(),
            published=published or {},
            rc=None,
            status="incomplete",
            ended=now(),
        )
        return self._write(body, complete=False, reason=reason)

    def _write(
        self, body: dict[str, Any], *, complete: bool, reason: str | None
    ) -> StoredRecord | None:
        if self.done:
            return None
        self.done = True
        if self.store is None:
            return None
        stored = self.store.write(
            step=self.step,
            body=body,
            subjects=self.subjects,
            recorder=self.recorder,
            complete=complete,
            incomplete_reason=reason,
        )
        if self._journal is not None:
            self._journal_handle.close()
            self._journal.unlink(missing_ok=True)
        return stored


_HEADER_FIELDS = ("playbook", "inventory", "limit", "tags", "check", "recorder", "started")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_stale(store: EvidenceStore) -> list[StoredRecord]:
    """Turn the journals of runs whose controller died into incomplete records.

    Returns:
        The records written, one per journal recovered.

    """
    inflight = store.directory / INFLIGHT
    written: list[StoredRecord] = []
    for found in sorted(inflight.glob("*.jsonl")) if inflight.is_dir() else []:
        lines = found.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0])
        except (IndexError, ValueError):
            continue
        if header["controller"] != platform.node() or _alive(int(header["pid"])):
            continue
        # Claim the journal by renaming it: two recoveries at once cannot both win.
        journal = found.with_suffix(f".recovering-{os.getpid()}")
        try:
            found.rename(journal)
        except FileNotFoundError:
            continue
        recorder = RunRecorder(
            step=Step(**header["step"]),
            subjects=[Subject(**s) for s in header["subjects"]],
            store=None,
            **{k: header[k] for k in _HEADER_FIELDS},
        )
        for line in lines[1:]:
            try:
                recorder.tasks.append(TaskRecord(**json.loads(line)["task"]))
            except (ValueError, KeyError, TypeError):
                break  # a line cut by the crash ends the journal
        recorder.store = store
        reason = f"the controller process {header['pid']} ended before the run did"
        body = recorder.body(
            hosts=recorder.hosts_from_tasks(),
            published={},
            rc=None,
            status="incomplete",
            ended=None,
        )
        log.warning("recovering the journal of an interrupted run of %s", header["playbook"])
        written.append(
            store.write(
                step=recorder.step,
                body=body,
                subjects=recorder.subjects,
                recorder=header["recorder"],
                complete=False,
                incomplete_reason=reason,
            )
        )
        journal.unlink()
    return written
