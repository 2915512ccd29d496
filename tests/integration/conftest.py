import os

import pytest
from labstack import DECISION, STACK_NAME, STACK_SUBNET, Stack, run_pipeline

from e5ops.evidence.keys import create_key
from e5ops.lab import Lab, LabConfig


def pytest_collection_modifyitems(items):
    """Mark every test that uses the `stack` fixture, so that it can run as a stream of its own."""
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def shared_lab(project):
    """One lab host for tests that need any real Debian host, not a particular lab."""
    lab = Lab(LabConfig(project=project, name="itest-shared", subnet="10.231.79.0/24"))
    lab.down()
    lab.up(("web1",))
    yield lab
    lab.down()


@pytest.fixture(scope="session")
def stack(project, tmp_path_factory):
    """Lab `stack`: bare hosts taken to a signed decision by the README's main command.

    `e5ops pipeline` brings the lab up (lb1, web1-web3, mon1, backup1, ca1),
    converges it with site.yml, runs every E5 step, adds web4 in step 03 and
    answers step 06 as CI does. test_pipeline.py asserts on that run;
    test_pipeline_drills.py and test_site.py go on from the converged lab it
    leaves, since the converge costs most of their time. Torn down at the end
    of the session.
    """
    base = tmp_path_factory.mktemp("stack")
    keys = create_key(private=base / "keys" / "evidence.key")
    environ = os.environ | {
        "E5OPS_LAB": STACK_NAME,
        "E5OPS_LAB_SUBNET": STACK_SUBNET,
        "E5OPS_EVIDENCE_KEY": str(keys.private),
        "E5OPS_EVIDENCE_DIR": str(base / "e5"),
        "COLUMNS": "200",
    }
    lab = Lab(LabConfig(project=project, name=STACK_NAME, subnet=STACK_SUBNET))
    lab.down()
    try:
        cold, seconds = run_pipeline(project, environ, base, *DECISION, log="cold.log")
        print(f"\ncold pipeline: {seconds:.0f} s, exit {cold.returncode}")  # noqa: T201 - wall time for the log
        yield Stack(
            lab=lab,
            inventory=lab.config.inventory_dir / "hosts.yml",
            environ=environ,
            evidence=base / "e5",
            keys=keys,
            base=base,
            cold=cold,
            seconds=seconds,
        )
    finally:
        lab.down()
