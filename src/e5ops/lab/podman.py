"""A thin, typed door to the podman command line, with the project's containers.conf."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from e5ops.errors import LabError, MissingToolError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

log = logging.getLogger(__name__)

# Programs the lab needs, and the Debian package that brings each.
REQUIRED_TOOLS: Mapping[str, str] = MappingProxyType({"podman": "podman", "runc": "runc"})


def require_tools(tools: Mapping[str, str] | None = None) -> None:
    """Check that each program is on PATH (or in /usr/sbin).

    Raises:
        MissingToolError: Naming the Debian package that brings the missing program.

    """
    path = os.environ.get("PATH", "") + os.pathsep + "/usr/sbin:/sbin"
    for program, package in (tools or REQUIRED_TOOLS).items():
        if shutil.which(program, path=path) is None:
            msg = f"{program} is not installed"
            raise MissingToolError(
                msg, hint=f"install the Debian package: apt-get install {package}"
            )


class Podman:
    """Runs podman with ``CONTAINERS_CONF`` pointing at the project's own file."""

    def __init__(self, *, containers_conf: Path) -> None:
        """Bind the runner to a containers.conf.

        Raises:
            LabError: The file does not exist.

        """
        if not containers_conf.is_file():
            msg = f"podman settings file {containers_conf} is missing"
            raise LabError(msg, hint="restore lab/containers.conf from the repository")
        self.env = {**os.environ, "CONTAINERS_CONF": str(containers_conf)}

    def run(
        self,
        *args: str,
        check: bool = True,
        stdin: bytes | None = None,
        timeout: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``podman ARGS`` and return its result.

        Raises:
            LabError: The command failed and ``check`` is true; its stderr is shown.

        """
        command = ["podman", *args]
        log.debug("running %s", " ".join(command))
        result = subprocess.run(
            command,
            input=stdin.decode() if stdin is not None else None,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            msg = f"podman {args[0]} failed ({result.returncode}): {result.stderr.strip()}"
            raise LabError(msg)
        return result

    def json(self, *args: str) -> Any:  # noqa: ANN401 - podman's JSON has many shapes
        """Run a podman command that prints JSON and parse it."""
        out = self.run(*args).stdout.strip()
        return json.loads(out) if out else []

    def exists(self, kind: str, name: str) -> bool:
        """Tell whether a container, image or network of that name exists."""
        return self.run(kind, "exists", name, check=False).returncode == 0

    def exec(
        self, container: str, *command: str, check: bool = True, stdin: bytes | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside a container."""
        flags = ("-i",) if stdin is not None else ()
        return self.run("exec", *flags, container, *command, check=check, stdin=stdin)
