"""Where a project's files live: the collection checkout and its state directory."""

from __future__ import annotations

import os
from pathlib import Path

from e5ops.errors import UsageError

STATE_DIRNAME = ".e5ops"


def find_project_root(start: Path | None = None) -> Path:
    """Find the e5ops project that holds ``start`` (the current directory by default).

    The project is the nearest directory upwards that holds both ``galaxy.yml``
    and ``playbooks/``. ``E5OPS_PROJECT`` overrides the search.

    Raises:
        UsageError: No project was found.

    """
    override = os.environ.get("E5OPS_PROJECT")
    if override:
        root = Path(override).resolve()
        if not (root / "galaxy.yml").is_file():
            msg = f"E5OPS_PROJECT={override} holds no galaxy.yml"
            raise UsageError(msg, hint="point it at a checkout of the e5ops repository")
        return root
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "galaxy.yml").is_file() and (candidate / "playbooks").is_dir():
            return candidate
    msg = f"no e5ops project found at or above {here}"
    raise UsageError(msg, hint="run e5ops from a checkout of the repository, or set E5OPS_PROJECT")


def state_dir(project: Path) -> Path:
    """Return the project's state directory (ignored by git), creating it if needed."""
    path = project / STATE_DIRNAME
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Return the per-user cache shared by every checkout (images, root file systems)."""
    explicit = os.environ.get("E5OPS_CACHE")
    if explicit:
        path = Path(explicit)
    else:
        xdg = os.environ.get("XDG_CACHE_HOME")
        path = (Path(xdg) if xdg else Path.home() / ".cache") / "e5ops"
    path.mkdir(parents=True, exist_ok=True)
    return path
