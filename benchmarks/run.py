"""Measure e5ops on the lab and write benchmarks/RESULTS.md with PNG plots.

    .venv/bin/python benchmarks/run.py                      # every figure, 3 repeats
    .venv/bin/python benchmarks/run.py --figure transport --repeats 5

Each figure brings up the lab hosts it needs in a lab of its own (`bench`,
10.231.90.0/24) and removes them at the end. Only lab addresses are targets.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    BIN,
    PROJECT,
    Figure,
    Samples,
    bar_plot,
    line_plot,
    machine,
    run_timed,
)

from e5ops.lab import Lab, LabConfig

RESULTS = PROJECT / "benchmarks" / "RESULTS.md"
PLOTS = PROJECT / "benchmarks" / "plots"
LAB = LabConfig(project=PROJECT, name="bench", subnet="10.231.90.0/24")
TASKS_PER_PLAY = 50


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
    lab = Lab(LAB)
    lab.up(tuple(f"web{n}" for n in range(1, hosts + 1)))
    with tempfile.TemporaryDirectory() as tmp:
        playbook = _file_tasks_playbook(Path(tmp))
        names = list(_transport_settings(tmp))
        samples = {name: Samples(name) for name in names}
        for repeat in range(repeats):
            for name in names:
                # A fresh ControlPath directory per run: no run reuses another's master.
                control = Path(tmp) / f"cp-{repeat}-{names.index(name)}"
                control.mkdir()
                env = _transport_settings(str(control))[name]
                command = [str(BIN / "ansible-playbook"), "-i", _inventory(), str(playbook)]
                samples[name].seconds.append(run_timed(command, env=env))
    baseline = samples["ansible defaults"].median
    host_tasks = hosts * TASKS_PER_PLAY
    rows = [
        [
            name,
            f"{s.median:.1f}",
            s.spread,
            f"{s.median / host_tasks:.3f}",
            f"{s.median / baseline:.2f}",
        ]
        for name, s in samples.items()
    ]
    plot = bar_plot(
        PLOTS / "transport.png",
        f"{TASKS_PER_PLAY} no-change tasks on {hosts} hosts",
        list(samples.values()),
    )
    return Figure(
        name="transport",
        title=f"Transport settings: {TASKS_PER_PLAY} no-change tasks on {hosts} lab hosts",
        command=f".venv/bin/python benchmarks/run.py --figure transport --repeats {repeats}",
        columns=["setting", "median s", "min-max s", "s per host-task", "ratio to defaults"],
        rows=rows,
        notes=[
            f"{repeats} runs of each setting, interleaved; each run starts without an SSH master.",
            "mitogen 0.3 ran with ansible-core 2.19 here, with host keys pinned in known_hosts.",
        ],
        plot=plot,
    )


def figure_fleet(repeats: int, sizes: tuple[int, ...] = (1, 2, 4, 8)) -> Figure:
    """Time site.yml cold and idempotent on fleets of 1, 2, 4 and 8 web hosts."""
    lab = Lab(LAB)
    cold = {n: Samples(f"{n} cold") for n in sizes}
    warm = {n: Samples(f"{n} idempotent") for n in sizes}
    command = [str(BIN / "ansible-playbook"), "-i", _inventory(), "playbooks/site.yml"]
    for _ in range(repeats):
        for size in sizes:
            lab.down()
            lab.up(("lb1", *(f"web{n}" for n in range(1, size + 1))))
            cold[size].seconds.append(run_timed(command))
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
        title="Fleet scaling: playbooks/site.yml on lb1 plus 1, 2, 4, 8 web hosts",
        command=f".venv/bin/python benchmarks/run.py --figure fleet --repeats {repeats}",
        columns=[
            "web hosts",
            "cold median s",
            "cold min-max",
            "idempotent median s",
            "idempotent min-max",
            "cold ratio to 1 host",
        ],
        rows=rows,
        notes=[f"{repeats} runs per size, sizes interleaved; fresh hosts before every cold run."],
        plot=plot,
    )


FIGURES = {"transport": figure_transport, "fleet": figure_fleet}


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
    args = parser.parse_args()
    if args.repeats < 3:  # noqa: PLR2004 - a median of fewer is no median
        parser.error("--repeats must be 3 or more")
    os.environ.setdefault("CONTAINERS_CONF", str(PROJECT / "lab" / "containers.conf"))
    figures = []
    try:
        for name in args.figure or sorted(FIGURES):
            figures.append(FIGURES[name](args.repeats))
            write_results(figures)
    finally:
        Lab(LAB).down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
