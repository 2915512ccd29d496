import pytest

from e5ops.lab import Lab, LabConfig


@pytest.fixture(scope="session")
def shared_lab(project):
    """One lab host for tests that need any real Debian host, not a particular lab."""
    lab = Lab(LabConfig(project=project, name="itest-shared", subnet="10.231.79.0/24"))
    lab.down()
    lab.up(("web1",))
    yield lab
    lab.down()
