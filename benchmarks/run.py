"""Measure e5ops on the lab and write benchmarks/RESULTS.md with PNG plots.

    .venv/bin/python -m benchmarks.run                      # every figure, 3 repeats
    .venv/bin/python -m benchmarks.run --figure transport --repeats 5
    .venv/bin/python -m benchmarks.run --figure converge --cold-repeats 1

Each figure brings up the lab hosts it needs in a lab of its own (`bench`,
10.231.90.0/24) and removes them at the end. Only lab addresses are targets.
Figures: transport settings, evidence overhead, rolling deploy and rollback
under load, converge of the full lab (cold, idempotent, each role alone) and
fleet scaling. `--cold-repeats` sets the runs on fresh hosts separately: each
is a full converge from bare Debian, the dearest thing measured here.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    BIN,
    PROJECT,
    BenchmarkError,
    Figure,
    Samples,
    bar_plot,
    git_commit,
    line_plot,
    machine,
    run_recap,
    run_timed,
)

from e5ops.lab import Lab, LabConfig
from e5ops.rollout import RolloutError, find_release, parse_steps, rollback_seconds, start_rollout
from e5ops.runner import run_playbook

if TYPE_CHECKING:
    from collections.abc import Callable

# The load generator the tests and drills use: one generator, one way of counting.
sys.path.insert(0, str(PROJECT / "playbooks" / "files"))
from loadgen import Load

# How the lab tests read HAProxy's view of the backends: one reader for both.
sys.path.insert(0, str(PROJECT / "tests" / "integration"))
from probes import server_states

RESULTS = PROJECT / "benchmarks" / "RESULTS.md"
PLOTS = PROJECT / "benchmarks" / "plots"
LAB = LabConfig(project=PROJECT, name="bench", subnet="10.231.90.0/24")
SUBNET = "10.231.90.0/24"
LB = "10.231.90.10"
TASKS_PER_PLAY = 50
# The full stack of playbooks/site.yml; the fleet figure adds web hosts to its base.
STACK = ("ca1", "lb1", "web1", "web2", "mon1", "backup1")
FLEET_BASE = ("ca1", "lb1", "mon1", "backup1")
ROLE_PLAYBOOKS = (
    "playbooks/tls.yml",
    "playbooks/harden.yml",
    "playbooks/monitoring.yml",
    "playbooks/loadbalancer.yml",
    "playbooks/backup.yml",
)
# Light load during deploys: enough to see a dropped request on a shared 2-core machine.
DEPLOY_LOAD = {"subnet": SUBNET, "workers": 4, "rate": 50.0, "min_requests": 0}


def _inventory() -> str:
    return str(LAB.inventory_dir / "hosts.yml")


def _file_tasks_playbook(directory: Path) -> Path:
    """Write a play of 50 file tasks that change nothing: pure transport cost."""
    tasks = "\n".join(
        f"    - name: Check /etc is a directory ({n})\n"
        f"      ansible.builtin.file:\n        path: /etc\n        state: directory\n"
        for n in range(1, TASKS_PER_PLAY + 1)
    )
    path = directory / "file_tasks.yml"
    path.write_text(
        f"---\n- name: Fifty tasks that change nothing\n  hosts: webservers\n"
        f"  gather_facts: false\n  tasks:\n{tasks}",
        encoding="utf-8",
    )
    return path


def _transport_settings(control_dir: str) -> dict[str, dict[str, str]]:
    import ansible_mitogen  # noqa: PLC0415 - only this figure needs it

    strategies = str(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")
    fresh = {"ANSIBLE_SSH_CONTROL_PATH_DIR": control_dir}
    return {
        "no ControlPersist, no pipelining": {
            **fresh,
            "ANSIBLE_PIPELINING": "false",
            "ANSIBLE_SSH_ARGS": "-o ControlMaster=no",
        },
        "ansible defaults": {
            **fresh,
            "ANSIBLE_PIPELINING": "false",
            "ANSIBLE_SSH_ARGS": "-C -o ControlMaster=auto -o ControlPersist=60s",
        },
        "pipelining + ControlPersist (ours)": {**fresh},
        "mitogen_linear": {
            **fresh,
            "ANSIBLE_STRATEGY_PLUGINS": strategies,
            "ANSIBLE_STRATEGY": "mitogen_linear",
        },
    }


def figure_transport(repeats: int, hosts: int = 4) -> Figure:
    """Compare Ansible's transport settings on the same 50 no-change tasks."""
    import mitogen  # noqa: PLC0415 - only this figure needs it

    lab = Lab(LAB)
    lab.down()
    lab.up(tuple(f"web{n}" for n in range(1, hosts + 1)))
    failed: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        playbook = _file_tasks_playbook(Path(tmp))
        names = list(_transport_settings(tmp))
        samples = {name: Samples(name) for name in names}
        for repeat in range(repeats):
            for name in names:
                if name in failed:
                    continue
                # A fresh ControlPath directory per run: no run reuses another's master.
                control = Path(tmp) / f"cp-{repeat}-{names.index(name)}"
                control.mkdir()
                env = _transport_settings(str(control))[name]
                command = [str(BIN / "ansible-playbook"), "-i", _inventory(), str(playbook)]
                try:
                    samples[name].seconds.append(run_timed(command, env=env))
                except BenchmarkError as exc:
                    # A setting that does not work here is a result too: say so, go on.
                    failed[name] = str(exc).splitlines()[-1][:200]
    lab.down()
    baseline = samples["ansible defaults"]
    host_tasks = hosts * TASKS_PER_PLAY
    rows = []
    for name, s in samples.items():
        if name in failed:
            rows.append([name, "failed", "-", "-", "-"])
            continue
        # Ratios run by run (the settings of one repeat run back to back), then their median.
        ratio = statistics.median(v / b for v, b in zip(s.seconds, baseline.seconds, strict=False))
        rows.append(
            [name, f"{s.median:.1f}", s.spread, f"{s.median / host_tasks:.3f}", f"{ratio:.2f}"]
        )
    plot = bar_plot(
        PLOTS / "transport.png",
        f"{TASKS_PER_PLAY} no-change tasks on {hosts} hosts",
        [s for name, s in samples.items() if name not in failed],
    )
    version = ".".join(map(str, mitogen.__version__))
    notes = [
        (
            f"{repeats} runs of each setting, interleaved; each run starts without an SSH master. "
            "The ratio is the median of each repeat's ratio to the defaults' run of that repeat."
        ),
    ]
    if "mitogen_linear" in failed:
        notes.append(
            f"mitogen {version} did NOT work with this ansible-core: {failed['mitogen_linear']}"
        )
    else:
        notes.append(
            f"mitogen {version} (its mitogen_linear strategy) ran with this ansible-core, "
            "with host keys pinned in the lab's known_hosts."
        )
    return Figure(
        name="transport",
        title=f"Transport settings: {TASKS_PER_PLAY} no-change tasks on {hosts} lab hosts",
        command=f".venv/bin/python -m benchmarks.run --figure transport --repeats {repeats}",
        columns=["setting", "median s", "min-max s", "s per host-task", "ratio to defaults"],
        rows=rows,
        notes=notes,
        plot=plot,
    )


def figure_evidence(repeats: int, tasks: int = 50) -> Figure:
    """Compare recording evidence with plain ansible-playbook on the same play, side by side."""
    import evidence_overhead  # noqa: PLC0415 - the figure's own module

    hosts = ("web1", "web2", "web3", "lb1")
    lab = Lab(LAB)
    lab.down()
    inventory = lab.up(hosts).inventory
    summary = evidence_overhead.measure(
        inventory, hosts=len(hosts), tasks=tasks, rounds=repeats, local=False
    )
    lab.down()
    labels = {
        "plain": "plain ansible-playbook (no callback)",
        "callback": "ansible-playbook + evidence callback",
        "runner-bare": "e5ops runner, not recording",
        "runner": "e5ops runner, signed record",
    }
    samples = {name: Samples(labels[name], values) for name, values in summary["seconds"].items()}
    rows = [
        [
            labels[name],
            f"{s.median:.1f}",
            s.spread,
            f"{summary['ratio_to_plain'][name]:.3f}",
        ]
        for name, s in samples.items()
    ]
    plot = bar_plot(
        PLOTS / "evidence.png",
        f"{tasks} tasks on {len(hosts)} hosts: recording evidence or not",
        list(samples.values()),
    )
    events = summary["host_tasks"]
    return Figure(
        name="evidence",
        title=(
            f"Evidence overhead: {tasks} light tasks on {len(hosts)} lab hosts ({events} results)"
        ),
        command=f".venv/bin/python -m benchmarks.run --figure evidence --repeats {repeats}",
        columns=["path", "median s", "min-max s", "ratio to plain (median of rounds)"],
        rows=rows,
        notes=[
            f"{repeats} rounds; each round runs the four ways back to back after one warm-up run.",
            (
                f"Recording alone, per result: {summary['callback_ms_per_event']:.3f} ms in the "
                f"callback's recorder, {summary['runner_handler_ms_per_event']:.3f} ms in the "
                f"runner's event handler; writing the signed record of {events} results: "
                f"{summary['record_write_seconds'] * 1000:.0f} ms."
            ),
        ],
        plot=plot,
    )


def figure_deploy(repeats: int) -> Figure:
    """Time rolling deploys under load and broken canaries rolled back, on lb1 and web1-web3."""
    subprocess.run(
        [sys.executable, str(PROJECT / "examples" / "demo-app" / "build.py")],
        check=True, cwd=PROJECT, capture_output=True,
    )  # fmt: skip
    lab = Lab(LAB)
    lab.down()
    inventory = lab.up(("lb1", "web1", "web2", "web3")).inventory
    for playbook, extravars in (
        ("playbooks/loadbalancer.yml", {}),
        ("playbooks/deploy.yml", {"release_version": "1.0.0", "deploy_serial": 3}),
    ):
        result = run_playbook(
            project=PROJECT, playbook=playbook, inventory=inventory, extravars=extravars,
            record=False,
        )  # fmt: skip
        if not result.ok:
            msg = f"setting up the deploy figure: {playbook} failed: {result.failures}"
            raise BenchmarkError(msg)
    deploys, rollbacks = Samples("rolling deploy"), Samples("failed gate to rollback")
    loads: list[tuple[str, object]] = []
    versions = ["1.1.0", "1.0.0"]
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(repeats):
            version = versions[repeat % 2]
            with Load(host=LB, **DEPLOY_LOAD) as load:
                result = run_playbook(
                    project=PROJECT, playbook="playbooks/deploy.yml", inventory=inventory,
                    extravars={"release_version": version}, record=False,
                )  # fmt: skip
            if not result.ok:
                msg = f"rolling deploy of {version} failed: {result.failures}"
                raise BenchmarkError(msg)
            deploys.seconds.append(result.seconds)
            loads.append((f"deploy to {version}", load.report()))

            rollout = start_rollout(
                project=PROJECT, inventory=inventory,
                release=find_release(project=PROJECT, version="1.3.0-broken"),
                steps=parse_steps("1,50%,100%"), gates=[f"http:http://{LB}/healthz"],
                bake_seconds=5, directory=Path(tmp) / f"rollout-{repeat}",
            )  # fmt: skip
            with Load(host=LB, **DEPLOY_LOAD) as load:
                try:
                    rollout.run()
                except RolloutError:
                    pass
                else:
                    msg = "the broken canary was not rolled back: its rollout passed"
                    raise BenchmarkError(msg)
            seconds = rollback_seconds(rollout.state)
            if rollout.state.status != "rolled_back" or seconds is None:
                msg = f"the broken canary ended {rollout.state.status}, not rolled back"
                raise BenchmarkError(msg)
            rollbacks.seconds.append(seconds)
            loads.append(("broken canary", load.report()))
    states = server_states(LB)
    lab.down()
    rows = [
        [s.label, f"{s.median:.1f}", s.spread, str(len(s.seconds))] for s in (deploys, rollbacks)
    ]
    load_rows = [
        f"| {what} | {r.requests} | {r.failed} | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.rate:.0f} |"
        for what, r in loads
    ]
    plot = bar_plot(
        PLOTS / "deploy.png",
        "Rolling deploy of web1-web3, and a broken canary's rollback",
        [deploys, rollbacks],
    )
    return Figure(
        name="deploy",
        title="Rolling deploy under load, and time from a failed gate to a completed rollback",
        command=f".venv/bin/python -m benchmarks.run --figure deploy --repeats {repeats}",
        columns=["what", "median s", "min-max s", "runs"],
        rows=rows,
        notes=[
            (
                "lb1 (HAProxy) in front of web1-web3; each deploy moves the three hosts one at a "
                "time (drain, deploy, health check, back in service) between 1.0.0 and 1.1.0. "
                "Each rollout gives the canary (web1) 1.3.0-broken: its gate fails and the "
                "rollout rolls it back; the figure is e5ops.rollout's time from the failed check "
                "to the completed rollback."
            ),
            (
                f"Load through lb1 during each run: {DEPLOY_LOAD['rate']:.0f} requests/s from "
                f"{DEPLOY_LOAD['workers']} keep-alive connections (HTTPS)."
            ),
            "",
            "| run | requests | failed | p50 ms | p99 ms | req/s |",
            "|---|---|---|---|---|---|",
            *load_rows,
            "",
            f"Backends after the last run: {states}.",
        ],
        plot=plot,
    )


def _playbook(name: str, *extra: str) -> list[str]:
    return [str(BIN / "ansible-playbook"), "-i", _inventory(), name, *extra]


def figure_converge(repeats: int, cold_repeats: int) -> Figure:
    """Time the full lab from bare hosts, site.yml again, and each role's playbook alone."""
    lab = Lab(LAB)
    site = _playbook("playbooks/site.yml")
    cold, warm = Samples("site.yml cold"), Samples("site.yml idempotent")
    warm_changed: list[int] = []
    for _ in range(cold_repeats):
        lab.down()
        lab.up(STACK)
        seconds, _changed = run_recap(site)
        cold.seconds.append(seconds)
    for _ in range(repeats):
        seconds, changed = run_recap(site)
        warm.seconds.append(seconds)
        warm_changed.append(changed)
    roles = {name: Samples(Path(name).name) for name in ROLE_PLAYBOOKS}
    role_changed: dict[str, list[int]] = {name: [] for name in ROLE_PLAYBOOKS}
    for _ in range(repeats):
        for name in ROLE_PLAYBOOKS:
            seconds, changed = run_recap(_playbook(name))
            roles[name].seconds.append(seconds)
            role_changed[name].append(changed)
    lab.down()
    rows = [
        ["site.yml, cold (bare hosts)", f"{cold.median:.1f}", cold.spread, str(cold_repeats), "-"],
        [
            "site.yml, again",
            f"{warm.median:.1f}",
            warm.spread,
            str(repeats),
            "/".join(map(str, warm_changed)),
        ],
    ]
    rows += [
        [f"{name} alone, again", f"{s.median:.1f}", s.spread, str(repeats),
         "/".join(map(str, role_changed[name]))]
        for name, s in roles.items()
    ]  # fmt: skip
    plot = bar_plot(
        PLOTS / "converge.png",
        f"Converge of {len(STACK)} lab hosts: cold, again, each role alone",
        [cold, warm, *roles.values()],
    )
    return Figure(
        name="converge",
        title=f"Converge of the full lab ({', '.join(STACK)})",
        command=(
            f".venv/bin/python -m benchmarks.run --figure converge --repeats {repeats} "
            f"--cold-repeats {cold_repeats}"
        ),
        columns=["run", "median s", "min-max s", "runs", "changed tasks per run"],
        rows=rows,
        notes=[
            (
                f"playbooks/site.yml at commit {git_commit('playbooks/site.yml')}. Cold runs start "
                "from freshly booted hosts (packages come from the Debian mirror each time); the "
                "others run on the converged lab, one after another."
            ),
            (
                "A changed count above 0 on a second run is a finding, not noise: the playbook is "
                "not idempotent there."
            ),
        ],
        plot=plot,
    )


def figure_fleet(repeats: int, cold_repeats: int, sizes: tuple[int, ...] = (1, 2, 4, 8)) -> Figure:
    """Time site.yml cold and idempotent on fleets of 1, 2, 4 and 8 web hosts."""
    lab = Lab(LAB)
    cold = {n: Samples(f"{n} cold") for n in sizes}
    warm = {n: Samples(f"{n} idempotent") for n in sizes}
    command = [str(BIN / "ansible-playbook"), "-i", _inventory(), "playbooks/site.yml"]
    for repeat in range(max(repeats, cold_repeats)):
        for size in sizes:
            if repeat < cold_repeats:
                lab.down()
                lab.up((*FLEET_BASE, *(f"web{n}" for n in range(1, size + 1))), boot_timeout=600)
                cold[size].seconds.append(run_timed(command))
            if repeat < repeats:
                if not warm[size].seconds and repeat >= cold_repeats:
                    msg = "idempotent fleet runs need a cold run first"
                    raise BenchmarkError(msg)
                warm[size].seconds.append(run_timed(command))
    lab.down()
    rows = [
        [
            str(size),
            f"{cold[size].median:.1f}",
            cold[size].spread,
            f"{warm[size].median:.1f}",
            warm[size].spread,
            f"{cold[size].median / cold[sizes[0]].median:.2f}",
        ]
        for size in sizes
    ]
    plot = line_plot(
        PLOTS / "fleet.png",
        "playbooks/site.yml against fleet size",
        list(sizes),
        {
            "cold": [cold[s].median for s in sizes],
            "idempotent": [warm[s].median for s in sizes],
        },
    )
    return Figure(
        name="fleet",
        title=(
            f"Fleet scaling: playbooks/site.yml on {', '.join(FLEET_BASE)} "
            "plus 1, 2, 4, 8 web hosts"
        ),
        command=(
            f".venv/bin/python -m benchmarks.run --figure fleet --repeats {repeats} "
            f"--cold-repeats {cold_repeats}"
        ),
        columns=[
            "web hosts",
            "cold median s",
            "cold min-max",
            "idempotent median s",
            "idempotent min-max",
            "cold ratio to 1 host",
        ],
        rows=rows,
        notes=[
            (
                f"playbooks/site.yml at commit {git_commit('playbooks/site.yml')}. {cold_repeats} "
                f"cold run(s) per size on fresh hosts, each followed by idempotent runs "
                f"({repeats} per size in all); sizes interleaved."
            ),
        ],
        plot=plot,
    )


FIGURES: dict[str, Callable[[int, int], Figure]] = {
    "transport": lambda repeats, _cold: figure_transport(repeats),
    "evidence": lambda repeats, _cold: figure_evidence(repeats),
    "deploy": lambda repeats, _cold: figure_deploy(repeats),
    "converge": figure_converge,
    "fleet": figure_fleet,
}
# Cheapest first: a figure that fails late costs the least.
ORDER = ("transport", "evidence", "deploy", "converge", "fleet")


def write_results(figures: list[Figure]) -> None:
    """Replace the figures' sections in RESULTS.md, keeping the others."""
    sections: dict[str, str] = {}
    if RESULTS.is_file():
        for chunk in RESULTS.read_text(encoding="utf-8").split("\n<!-- figure: ")[1:]:
            name, _, body = chunk.partition(" -->\n")
            sections[name] = body.rstrip() + "\n"
    stamp = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
    for figure in figures:
        sections[figure.name] = f"Taken {stamp} on {machine()}.\n\n{figure.markdown()}"
    header = (
        "# Benchmarks\n\nMedians of repeated runs with their spread. Comparisons are ratios "
        "taken in the same session; absolute times are for orientation only (a noisy "
        "2-core machine).\n"
    )
    body = "".join(f"\n<!-- figure: {name} -->\n{text}" for name, text in sorted(sections.items()))
    RESULTS.write_text(header + body, encoding="utf-8")


def main() -> int:
    """Run the chosen figures and write the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--figure", action="append", choices=sorted(FIGURES))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--cold-repeats", type=int, help="runs on fresh hosts (default: --repeats)")
    args = parser.parse_args()
    cold_repeats = args.cold_repeats or args.repeats
    if args.repeats < 3 or cold_repeats < 1:  # noqa: PLR2004 - a median of fewer is no median
        parser.error("--repeats must be 3 or more, --cold-repeats 1 or more")
    os.environ.setdefault("CONTAINERS_CONF", str(PROJECT / "lab" / "containers.conf"))
    os.environ.setdefault("ANSIBLE_CONFIG", str(PROJECT / "ansible.cfg"))
    os.environ.setdefault("E5OPS_LAB_IMAGE", "localhost/e5ops-debian12:latest")
    # Runs measured here are no evidence of anything: any record goes to a scratch directory.
    scratch = tempfile.mkdtemp(prefix="e5ops-bench-evidence-")
    os.environ.setdefault("E5OPS_EVIDENCE_DIR", scratch)
    figures = []
    try:
        for name in [n for n in ORDER if n in (args.figure or ORDER)]:
            started = time.monotonic()
            figures.append(FIGURES[name](args.repeats, cold_repeats))
            write_results(figures)
            print(f"{name}: done in {time.monotonic() - started:.0f} s", flush=True)  # noqa: T201
    finally:
        Lab(LAB).down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
