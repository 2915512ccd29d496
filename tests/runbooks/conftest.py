"""The lab the runbooks run against: the whole stack, converged once by site.yml."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from e5ops.lab import Lab, LabConfig
from e5ops.runner import RunResult, run_playbook

if TYPE_CHECKING:
    from pathlib import Path

NAME, SUBNET = "rbk", "10.231.97.0/24"
HOSTS = ("lb1", "web1", "web2", "web3", "mon1", "backup1", "ca1")


@dataclass
class Converged:
    """Lab `rbk` after site.yml's first run from bare hosts."""

    lab: Lab
    inventory: Path
    first: RunResult


@pytest.fixture(scope="session")
def converged(project):
    """Lab `rbk` (10.231.97.0/24): bare hosts converged once by playbooks/site.yml."""
    lab = Lab(LabConfig(project=project, name=NAME, subnet=SUBNET))
    lab.down()
    try:
        started = lab.up(HOSTS)
        first = run_playbook(
            project=project,
            playbook="playbooks/site.yml",
            inventory=started.inventory,
            record=False,
        )
        yield Converged(lab=lab, inventory=started.inventory, first=first)
    finally:
        lab.down()
