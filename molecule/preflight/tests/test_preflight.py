"""What the preflight role leaves on a host: its state directories, and nothing else."""

import pytest


@pytest.mark.parametrize("path", ["/etc/e5ops", "/var/lib/e5ops"])
def test_state_directory_exists_root_owned(host, path):
    directory = host.file(path)
    assert directory.is_directory
    assert directory.user == "root"
    assert directory.mode == 0o755


def test_host_booted_with_systemd(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in {"running", "degraded"}
