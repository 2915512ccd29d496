"""What every benchmark shares: timing runs, summarising them, writing tables and plots.

Figures are medians of repeated runs with their spread (min to max). Where
settings are compared, the runs of each setting are interleaved in one
session and given as ratios to a baseline run side by side, since these
machines are noisy and absolute times are for orientation only.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
BIN = PROJECT / ".venv" / "bin"


class BenchmarkError(RuntimeError):
    """A measured command failed: its figure would be meaningless."""


@dataclass
class Samples:
    """Repeated timings of one thing, in seconds."""

    label: str
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        """The median of the samples."""
        return statistics.median(self.seconds)

    @property
    def spread(self) -> str:
        """The range of the samples, as text."""
        return f"{min(self.seconds):.1f}-{max(self.seconds):.1f}"


@dataclass
class Figure:
    """One table of RESULTS.md, with the command that reproduces it."""

    name: str
    title: str
    command: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    plot: Path | None = None

    def markdown(self) -> str:
        """Render the figure as a Markdown section."""
        lines = [f"## {self.title}", "", f"Reproduce: `{self.command}`", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "---|" * len(self.columns))
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        if self.notes:
            lines += ["", *self.notes]
        if self.plot:
            lines += ["", f"![{self.title}]({self.plot.relative_to(PROJECT / 'benchmarks')})"]
        return "\n".join(lines) + "\n"


def _run(command: list[str], env: dict[str, str] | None) -> tuple[float, str]:
    """Run a command to completion; return its wall time and its standard output.

    Raises:
        BenchmarkError: The command failed; its output's tail is in the message.

    """
    started = time.monotonic()
    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        check=False,
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-2000:]
        msg = f"{' '.join(command)} failed ({result.returncode}):\n{tail}"
        raise BenchmarkError(msg)
    return elapsed, result.stdout


def run_timed(command: list[str], *, env: dict[str, str] | None = None) -> float:
    """Run a command to completion and return its wall time (BenchmarkError if it fails)."""
    return _run(command, env)[0]


def run_recap(command: list[str], *, env: dict[str, str] | None = None) -> tuple[float, int]:
    """Run an ansible-playbook command; return its wall time and the changes of its recap."""
    elapsed, stdout = _run(command, env)
    return elapsed, sum(int(n) for n in re.findall(r"\bchanged=(\d+)", stdout))


def git_commit(path: str) -> str:
    """Return the short commit of the last change to ``path``, marked when the file differs."""
    commit = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", path],
        capture_output=True, text=True, cwd=PROJECT, check=False,
    ).stdout.strip()  # fmt: skip
    dirty = subprocess.run(
        ["git", "diff", "--quiet", "HEAD", "--", path], cwd=PROJECT, check=False
    ).returncode
    return f"{commit or 'untracked'}{' with uncommitted changes' if dirty else ''}"


def machine() -> str:
    """Describe the machine and versions the figures were taken on."""
    ansible = subprocess.run(
        [str(BIN / "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()[0]
    return (
        f"{os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {ansible.strip()}"
    )


def bar_plot(path: Path, title: str, samples: list[Samples], ylabel: str = "seconds") -> Path:
    """Draw medians as bars with min-max whiskers and save a PNG."""
    import matplotlib as mpl  # noqa: PLC0415 - only plotting needs it

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(7, 4))
    medians = [s.median for s in samples]
    low = [s.median - min(s.seconds) for s in samples]
    high = [max(s.seconds) - s.median for s in samples]
    axes.bar([s.label for s in samples], medians, yerr=[low, high], capsize=6, color="#4c72b0")
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    axes.tick_params(axis="x", labelrotation=15)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def line_plot(path: Path, title: str, xs: list[int], series: dict[str, list[float]]) -> Path:
    """Draw one line per series against the fleet size and save a PNG."""
    import matplotlib as mpl  # noqa: PLC0415

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    figure, axes = plt.subplots(figsize=(7, 4))
    for label, ys in series.items():
        axes.plot(xs, ys, marker="o", label=label)
    axes.set_title(title)
    axes.set_xlabel("web hosts")
    axes.set_ylabel("seconds (median)")
    axes.set_xticks(xs)
    axes.legend()
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
