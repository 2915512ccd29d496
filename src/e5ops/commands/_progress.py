"""A live progress display for playbook runs: hosts, current task, counts."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Self

from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:
    from types import TracebackType

    from rich.console import Console

    from e5ops.runner import ProgressEvent


class RunProgress:
    """Shows a run as it goes; does nothing when the console is not a terminal."""

    def __init__(self, console: Console, playbook: str) -> None:
        """Prepare the display for ``playbook`` on ``console``."""
        self.console = console
        self.playbook = playbook
        self.play = ""
        self.task = ""
        self.hosts: set[str] = set()
        self.counts: Counter[str] = Counter()
        self._live: Live | None = None

    def __enter__(self) -> Self:
        """Start the live display, on a terminal only."""
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=8)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the live display."""
        if self._live is not None:
            self._live.__exit__(kind, exc, traceback)

    def __call__(self, event: ProgressEvent) -> None:
        """Take one event from the runner."""
        if event.kind == "play":
            self.play = event.name
        elif event.kind == "task":
            self.task = event.name
        elif event.kind == "result":
            self.hosts.add(event.host)
            self.counts[event.status] += 1
        if self._live is not None:
            self._live.update(self._render())

    def _render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_row("[bold]playbook[/]", self.playbook)
        table.add_row("[bold]play[/]", self.play or "-")
        table.add_row("[bold]task[/]", self.task or "-")
        table.add_row("[bold]hosts[/]", str(len(self.hosts)))
        counts = "  ".join(
            f"[{colour}]{name} {self.counts[name]}[/]"
            for name, colour in (
                ("ok", "green"),
                ("changed", "yellow"),
                ("failed", "red"),
                ("unreachable", "red"),
                ("skipped", "cyan"),
            )
        )
        table.add_row("[bold]results[/]", counts)
        return table
