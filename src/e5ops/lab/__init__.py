"""The local lab: Debian hosts with systemd and sshd, in podman containers."""

from e5ops.lab.config import DEFAULT_LAB, DEFAULT_SUBNET, LabConfig
from e5ops.lab.hosts import DEFAULT_HOSTS, LabHost, parse_host_list
from e5ops.lab.lab import HostStatus, Lab, UpResult

__all__ = [
    "DEFAULT_HOSTS",
    "DEFAULT_LAB",
    "DEFAULT_SUBNET",
    "HostStatus",
    "Lab",
    "LabConfig",
    "LabHost",
    "UpResult",
    "parse_host_list",
]
