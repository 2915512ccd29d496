"""Two real lab hosts: booted with systemd, reached over SSH by ansible-runner.

Needs podman, runc and the lab image (`make test` installs and builds them);
without them the test fails, it does not skip.
"""

import subprocess

import pytest

from e5ops.errors import LabError
from e5ops.lab import Lab, LabConfig
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name="itest-lab", subnet="10.231.77.0/24"))
    lab.down()
    yield lab
    lab.down()


def test_two_hosts_boot_answer_over_ssh_and_run_a_playbook(lab, project):
    first = lab.up(("web1", "web2"))
    assert first.created == ("web1", "web2")

    result = run_playbook(
        project=project,
        playbook="tests/integration/playbooks/systemd_state.yml",
        inventory=first.inventory,
    )
    assert result.ok, result
    assert set(result.hosts) == {"web1", "web2"}
    assert all(stats.unreachable == 0 and stats.failures == 0 for stats in result.hosts.values())

    # The connection really is SSH: the deploy user's key, a pinned host key.
    inventory = first.inventory.read_text()
    assert "10.231.77.20" in inventory
    assert "10.231.77.21" in inventory
    status = {row.name: row for row in lab.status()}
    assert {row.systemd for row in status.values()} <= {"running", "degraded"}
    assert status["web2"].address == "10.231.77.21"


def test_second_up_changes_nothing(lab):
    again = lab.up(("web1", "web2"))
    assert not again.changed
    assert again.unchanged == ("web1", "web2")


def test_another_checkout_cannot_adopt_the_hosts(lab, tmp_path):
    other = Lab(
        LabConfig(project=tmp_path, name=lab.config.name, subnet=lab.config.subnet),
        podman=lab.podman,
    )
    with pytest.raises(LabError, match="belongs to the lab itest-lab of another checkout"):
        other.up(("web1",))
    # The rightful lab still answers over SSH with its own key.
    assert lab.up(("web1", "web2")).unchanged == ("web1", "web2")


def test_plain_ansible_reaches_the_hosts_over_ssh(lab, project):
    inventory = lab.config.inventory_dir / "hosts.yml"
    result = subprocess.run(
        [
            str(project / ".venv/bin/ansible"),
            "-i",
            str(inventory),
            "all",
            "-m",
            "ansible.builtin.ping",
            "-o",
        ],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == 2


def test_down_removes_everything_and_a_second_down_is_a_no_op(lab):
    assert lab.down() == ("web1", "web2")
    assert lab.status() == ()
    assert not (lab.config.inventory_dir / "hosts.yml").exists()
    assert not lab.podman.exists("network", lab.config.network)
    assert lab.down() == ()


def test_cli_down_with_nothing_up_says_so_and_succeeds(project):
    result = subprocess.run(
        [str(project / ".venv/bin/e5ops"), "lab", "down", "--lab", "never-up"],
        capture_output=True,
        text=True,
        cwd=project,
        check=False,
    )
    assert result.returncode == 0
    assert "not up: nothing to remove" in result.stdout


def test_a_host_that_does_not_boot_in_time_shows_its_journal(project):
    lab = Lab(LabConfig(project=project, name="itest-boot", subnet="10.231.78.0/24"))
    try:
        with pytest.raises(LabError, match="did not boot") as caught:
            lab.up(("web1",), boot_timeout=0.05)
        assert "journal ends with" in str(caught.value)
        # The next `up` finishes the half-done host instead of trusting it.
        again = lab.up(("web1",))
        assert again.repaired == ("web1",)
        assert {row.systemd for row in lab.status()} <= {"running", "degraded"}
    finally:
        lab.down()
