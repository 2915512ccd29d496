from pathlib import Path

import pytest

from e5ops.errors import UsageError
from e5ops.lab.config import DEFAULT_LAB, LabConfig


def test_default_lab_writes_into_the_tracked_inventory_directory(tmp_path):
    config = LabConfig(project=tmp_path)
    assert config.inventory_dir == tmp_path / "inventories" / "lab"
    assert config.container("web1") == f"{DEFAULT_LAB}-web1"


def test_other_labs_keep_their_inventory_in_their_state(tmp_path):
    config = LabConfig(project=tmp_path, name="t-lab", subnet="10.231.77.0/24")
    assert config.inventory_dir == tmp_path / ".e5ops" / "labs" / "t-lab" / "inventory"


@pytest.mark.parametrize("name", ["", "x", "Lab", "lab_1", "1lab", "a" * 21, "lab;rm"])
def test_bad_lab_names_are_refused(name):
    with pytest.raises(UsageError, match="invalid lab name"):
        LabConfig(project=Path(), name=name)


@pytest.mark.parametrize(
    ("subnet", "fragment"),
    [("10.0.0.0/28", "/24 or larger"), ("8.8.8.0/24", "private"), ("nonsense", "invalid")],
)
def test_bad_subnets_are_refused(subnet, fragment):
    with pytest.raises(UsageError, match=fragment):
        LabConfig(project=Path(), subnet=subnet)


def test_environment_chooses_lab_and_subnet(monkeypatch, tmp_path):
    monkeypatch.setenv("E5OPS_LAB", "other")
    monkeypatch.setenv("E5OPS_LAB_SUBNET", "10.231.99.0/24")
    config = LabConfig.from_env(tmp_path)
    assert (config.name, config.subnet) == ("other", "10.231.99.0/24")
    assert LabConfig.from_env(tmp_path, name="given").name == "given"
