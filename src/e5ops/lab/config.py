"""The settings of one lab: its name, subnet and where its state lives."""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from e5ops.errors import UsageError

if TYPE_CHECKING:
    from pathlib import Path

DEFAULT_LAB = "e5lab"
DEFAULT_SUBNET = "10.231.10.0/24"
LABEL = "io.e5ops.lab"

_LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{1,19}$")


@dataclass(frozen=True)
class LabConfig:
    """One lab on this machine.

    Several labs can exist side by side (the default one, a test's own), each
    with its own podman network, subnet, key pair and inventory.
    """

    project: Path
    name: str = DEFAULT_LAB
    subnet: str = DEFAULT_SUBNET

    def __post_init__(self) -> None:
        """Refuse a bad name or subnet before anything starts."""
        if not _LAB_NAME.match(self.name):
            msg = f"invalid lab name {self.name!r}"
            hint = "use 2 to 20 lower-case letters, digits or dashes, starting with a letter"
            raise UsageError(msg, hint=hint)
        try:
            network = ipaddress.IPv4Network(self.subnet)
        except ValueError as exc:
            msg = f"invalid lab subnet {self.subnet!r}: {exc}"
            raise UsageError(msg, hint="give a private IPv4 /24, such as 10.231.10.0/24") from exc
        if not network.is_private or network.prefixlen > 24:  # noqa: PLR2004
            msg = f"lab subnet {self.subnet} must be a private IPv4 network of /24 or larger"
            raise UsageError(msg, hint="give a private IPv4 /24, such as 10.231.10.0/24")

    @classmethod
    def from_env(cls, project: Path, name: str | None = None) -> LabConfig:
        """Build the config from arguments, then ``E5OPS_LAB`` / ``E5OPS_LAB_SUBNET``."""
        return cls(
            project=project,
            name=name or os.environ.get("E5OPS_LAB", DEFAULT_LAB),
            subnet=os.environ.get("E5OPS_LAB_SUBNET", DEFAULT_SUBNET),
        )

    @property
    def network(self) -> str:
        """Name of the lab's podman network."""
        return self.name

    def container(self, host: str) -> str:
        """Name of the podman container of a lab host."""
        return f"{self.name}-{host}"

    @property
    def state(self) -> Path:
        """Directory holding the lab's key pair, known_hosts and state file."""
        return self.project / ".e5ops" / "labs" / self.name

    @property
    def inventory_dir(self) -> Path:
        """Directory whose ``hosts.yml`` the lab writes.

        The default lab writes into ``inventories/lab/`` (git ignores the
        generated file), so plain ``ansible-playbook -i inventories/lab`` reaches
        it. Another lab gets an inventory directory of its own in its state,
        sharing the lab's group_vars through a symbolic link.
        """
        if self.name == DEFAULT_LAB:
            return self.project / "inventories" / "lab"
        return self.state / "inventory"
