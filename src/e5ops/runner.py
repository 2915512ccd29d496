"""Run the collection's playbooks through ansible-runner and return a typed result."""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner

from e5ops.errors import RunError, UsageError
from e5ops.project import state_dir

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
    """The outcome of one playbook run."""

    playbook: str
    status: str
    rc: int
    seconds: float
    hosts: dict[str, HostStats] = field(default_factory=dict)
    failures: tuple[TaskFailure, ...] = ()
    artifact_dir: Path | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the run succeeded on every host."""
        return self.status == "successful" and self.rc == 0

    @property
    def changed(self) -> int:
        """Count the changed tasks over all hosts."""
        return sum(stats.changed for stats in self.hosts.values())


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
) -> RunResult:
    """Run ``playbook`` (relative to the project) against ``inventory``.

    Raises:
        UsageError: The playbook or inventory does not exist.

    """
    path = project / playbook
    if not path.is_file():
        msg = f"playbook {playbook} not found in {project}"
        raise UsageError(msg, hint=f"playbooks available: {_playbooks(project)}")
    if not inventory.exists():
        msg = f"inventory {inventory} does not exist"
        hint = "for the lab, run `e5ops lab up` first; it writes inventories/lab/hosts.yml"
        raise UsageError(msg, hint=hint)
    private = state_dir(project) / "runner"
    private.mkdir(exist_ok=True)
    cmdline = "--check --diff" if check else None
    started = time.monotonic()
    # ansible-playbook is found beside the interpreter running e5ops, so a
    # virtual environment works without being on PATH.
    bindir = str(Path(sys.executable).parent)
    envvars = {
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "PATH": os.pathsep.join([bindir, os.environ.get("PATH", "")]),
    }
    try:
        result = ansible_runner.run(
            private_data_dir=str(private),
            project_dir=str(project),
            playbook=str(path),
            inventory=str(inventory),
            limit=limit,
            extravars=extravars or {},
            tags=tags,
            cmdline=cmdline,
            envvars={**envvars, "ANSIBLE_FORCE_COLOR": "0"},
            quiet=quiet,
            rotate_artifacts=20,
        )
    except (OSError, RuntimeError) as exc:
        msg = f"ansible-runner could not start {playbook}: {exc}"
        raise RunError(msg) from exc
    seconds = time.monotonic() - started
    if result.rc == 127:  # noqa: PLR2004 - the shell's "command not found"
        msg = f"ansible-playbook was not found to run {playbook}"
        raise RunError(msg, hint="install e5ops with its dependencies: make bootstrap")
    log.debug("run of %s ended %s rc=%s in %.1fs", playbook, result.status, result.rc, seconds)
    return RunResult(
        playbook=playbook,
        status=str(result.status),
        rc=int(result.rc),
        seconds=seconds,
        hosts=_host_stats(result.stats),
        failures=_failures(result.events),
        artifact_dir=Path(result.config.artifact_dir),
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
