"""The consoles every verb prints to: results on stdout, problems on stderr."""

from rich.console import Console

out = Console()
err = Console(stderr=True)
