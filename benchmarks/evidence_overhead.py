"""Measure what recording evidence costs, against plain ansible-playbook on the same play.

Brings up its own lab hosts, writes a play of TASKS no-change tasks, and runs
it, round after round, in four ways side by side:

- ``plain``: ansible-playbook with no evidence callback (the baseline);
- ``callback``: ansible-playbook with ``e5ops.production.evidence`` enabled;
- ``runner-bare``: e5ops.runner without recording (ansible-runner's own cost);
- ``runner``: e5ops.runner recording a signed record.

It also times the recorder alone per event (redaction and journal line) and
the writing of one signed record. Results go to benchmarks/results/ as
Markdown and JSON. Run from the repository root with the lab's environment:

    CONTAINERS_CONF=lab/containers.conf .venv/bin/python benchmarks/evidence_overhead.py
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from e5ops.evidence.keys import create_key, load_signer
from e5ops.evidence.recorder import RunRecorder
from e5ops.evidence.steps import step
from e5ops.evidence.store import EvidenceStore
from e5ops.lab import Lab, LabConfig
from e5ops.runner import _EventFeed, run_playbook

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "benchmarks" / "results"


def write_play(path: Path, tasks: int, *, local: bool) -> None:
    """Write a play of ``tasks`` light tasks that change nothing.

    On lab hosts, a realistic mix of modules. With ``local``, only tasks that
    run inside the controller (debug, set_fact, assert): the shortest baseline,
    so the recording's share of the wall time is the largest it can be.
    """
    lines = [
        "---",
        "- name: Measure recording overhead",
        "  hosts: all",
        "  gather_facts: false",
        "  tasks:",
    ]
    for number in range(tasks):
        if local:
            lines += [
                f"    - name: Check value {number}",
                "      ansible.builtin.assert:",
                f"        that: {number} >= 0",
                "        quiet: true",
            ]
            continue
        if number % 3 == 0:
            lines += [
                f"    - name: Check file {number}",
                "      ansible.builtin.stat:",
                "        path: /etc/hostname",
            ]
        elif number % 3 == 1:
            lines += [
                f"    - name: Run command {number}",
                '      ansible.builtin.command: "true"',
                "      changed_when: false",
            ]
        else:
            lines += [
                f"    - name: Ensure directory {number}",
                "      ansible.builtin.file:",
                "        path: /tmp",
                "        state: directory",
            ]
    path.write_text("\n".join(lines) + "\n")


def plain(inventory: Path, playbook: Path, env: dict[str, str], *, callback: bool) -> float:
    """Run ansible-playbook once and return its wall time."""
    run_env = dict(env)
    if callback:
        run_env["ANSIBLE_CALLBACKS_ENABLED"] = "e5ops.production.evidence"
    started = time.monotonic()
    subprocess.run(
        [str(PROJECT / ".venv/bin/ansible-playbook"), "-i", str(inventory), str(playbook)],
        cwd=PROJECT,
        env=run_env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.monotonic() - started


def runner(inventory: Path, playbook: Path, *, record: bool) -> float:
    """Run the play through e5ops.runner once and return its wall time."""
    started = time.monotonic()
    result = run_playbook(
        project=PROJECT,
        playbook=str(playbook.relative_to(PROJECT)),
        inventory=inventory,
        record=record,
    )
    assert result.ok, result.failures  # noqa: S101 - a benchmark of a failing run is worthless
    return time.monotonic() - started


def per_event(directory: Path, key: Path, events: int) -> tuple[float, float, float]:
    """Time the recording alone, per event, on synthetic results.

    Returns:
        Milliseconds per event through the recorder (the callback's work), through
        the runner's event handler (redacting the whole event, then recording), and
        the seconds to write the signed record of all of them.

    """

    def recorder(name: str) -> RunRecorder:
        return RunRecorder(
            step=step("01"),
            playbook="bench.yml",
            inventory="inventory",
            limit=None,
            tags=None,
            check=False,
            recorder="runner",
            subjects=[],
            store=EvidenceStore(directory / name, signer=load_signer(key)),
        )

    def result() -> dict[str, object]:
        return {
            "changed": False,
            "stat": {"exists": True, "path": "/etc/hostname", "mode": "0644", "size": 4},
            "invocation": {"module_args": {"path": "/etc/hostname", "password": "x"}},
        }

    direct = recorder("direct")
    started = time.perf_counter()
    for number in range(events):
        direct.task_result(
            host=f"web{number % 4}",
            task=f"Check file {number}",
            play="p",
            action="ansible.builtin.stat",
            status="ok",
            result=result(),
            started="2026-01-01T00:00:00+00:00",
            ended="2026-01-01T00:00:00.1+00:00",
        )
    callback_ms = (time.perf_counter() - started) / events * 1000

    feed = _EventFeed(recorder("feed"), observer=None)
    started = time.perf_counter()
    for number in range(events):
        feed(
            {
                "event": "runner_on_ok",
                "stdout": f"ok: [web{number % 4}]",
                "event_data": {
                    "host": f"web{number % 4}",
                    "task": f"Check file {number}",
                    "play": "p",
                    "playbook": "bench.yml",
                    "task_action": "ansible.builtin.stat",
                    "resolved_action": "ansible.builtin.stat",
                    "task_args": "",
                    "res": result(),
                    "start": "2026-01-01T00:00:00+00:00",
                    "end": "2026-01-01T00:00:00.1+00:00",
                    "duration": 0.1,
                },
            }
        )
    runner_ms = (time.perf_counter() - started) / events * 1000
    started = time.perf_counter()
    direct.finish(hosts=direct.hosts_from_tasks(), published={}, rc=0)
    return callback_ms, runner_ms, time.perf_counter() - started


def measure(inventory: Path, *, hosts: int, tasks: int, rounds: int, local: bool) -> dict:
    """Run the play in the four ways, ``rounds`` times side by side; return the summary."""
    work = Path(tempfile.mkdtemp(prefix="e5ops-bench-"))
    playbook = PROJECT / "benchmarks" / f".bench-{os.getpid()}.yml"
    write_play(playbook, tasks, local=local)
    keys = create_key(private=work / "keys" / "evidence.key")
    # The baseline must not load the evidence callback, whatever ansible.cfg enables:
    # a copy of it without callbacks_enabled, beside it so that relative paths hold.
    config = PROJECT / f".bench-ansible-{os.getpid()}.cfg"
    config.write_text(
        "".join(
            line
            for line in (PROJECT / "ansible.cfg").read_text().splitlines(keepends=True)
            if not line.strip().startswith("callbacks_enabled")
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(config),
        "E5OPS_EVIDENCE_KEY": str(keys.private),
        "E5OPS_EVIDENCE_DIR": str(work / "e5"),
    }
    saved = {k: os.environ.get(k) for k in ("E5OPS_EVIDENCE_KEY", "E5OPS_EVIDENCE_DIR")}
    os.environ.update({k: env[k] for k in saved})
    times: dict[str, list[float]] = {"plain": [], "callback": [], "runner-bare": [], "runner": []}
    events = tasks * hosts
    try:
        plain(inventory, playbook, env, callback=False)  # warm SSH control sockets and caches
        for _ in range(rounds):
            times["plain"].append(plain(inventory, playbook, env, callback=False))
            times["callback"].append(plain(inventory, playbook, env, callback=True))
            times["runner-bare"].append(runner(inventory, playbook, record=False))
            times["runner"].append(runner(inventory, playbook, record=True))
        callback_ms, runner_ms, record_seconds = per_event(work / "micro", keys.private, events)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        playbook.unlink(missing_ok=True)
        config.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)

    median = {name: statistics.median(values) for name, values in times.items()}
    # Ratios round by round (each round runs the four ways back to back), then their median.
    ratios = {
        name: statistics.median(v / p for v, p in zip(values, times["plain"], strict=True))
        for name, values in times.items()
    }
    return {
        "mode": "local (controller-only tasks)" if local else "lab hosts over SSH",
        "hosts": hosts,
        "tasks": tasks,
        "host_tasks": events,
        "rounds": rounds,
        "seconds": times,
        "median": median,
        "ratio_to_plain": ratios,
        "callback_ratio": median["callback"] / median["plain"],
        "runner_ratio": median["runner"] / median["plain"],
        "recording_ratio_within_runner": median["runner"] / median["runner-bare"],
        "callback_ms_per_event": callback_ms,
        "runner_handler_ms_per_event": runner_ms,
        "record_write_seconds": record_seconds,
        "python": sys.version.split()[0],
    }


def main() -> int:
    """Run the benchmark alone and write its results (benchmarks/run.py folds it in too)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="bench")
    parser.add_argument("--subnet", default="10.231.90.0/24")
    parser.add_argument("--hosts", default="web1,web2,web3,lb1")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="leave the lab up")
    parser.add_argument(
        "--local",
        action="store_true",
        help="no lab: the hosts are the controller itself, with controller-only tasks",
    )
    args = parser.parse_args()
    names = args.hosts.split(",")
    lab = None
    if args.local:
        inventory = Path(tempfile.mkdtemp(prefix="e5ops-bench-inv-")) / "hosts.yml"
        hosts = "".join(f"    {name}:\n" for name in names)
        inventory.write_text(
            f"all:\n  hosts:\n{hosts}  vars:\n    ansible_connection: local\n"
            f"    ansible_python_interpreter: {sys.executable}\n"
        )
    else:
        lab = Lab(LabConfig(project=PROJECT, name=args.lab, subnet=args.subnet))
        inventory = lab.up(tuple(names)).inventory
    try:
        summary = measure(
            inventory, hosts=len(names), tasks=args.tasks, rounds=args.rounds, local=args.local
        )
    finally:
        if lab is not None and not args.keep:
            lab.down()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "evidence_overhead_local" if args.local else "evidence_overhead"
    (RESULTS / f"{stem}.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))  # noqa: T201 - a script's report
    return 0


if __name__ == "__main__":
    sys.exit(main())
