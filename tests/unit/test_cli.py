import pytest

from e5ops.cli import main
from e5ops.errors import MissingToolError
from e5ops.lab.podman import require_tools


def test_bad_host_name_is_refused_before_podman_is_touched(monkeypatch, capsys):
    # An empty PATH: reaching podman at all would fail with a different error.
    monkeypatch.setenv("PATH", "")
    assert main(["lab", "up", "--hosts", "web1,web0"]) == 2
    message = capsys.readouterr().err
    assert "invalid lab host name 'web0'" in message
    assert "hint:" in message


def test_bad_lab_name_is_refused(capsys):
    assert main(["lab", "status", "--lab", "Bad_Name"]) == 2
    assert "invalid lab name" in capsys.readouterr().err


def test_missing_podman_names_the_debian_package(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(MissingToolError, match="podman is not installed") as caught:
        require_tools({"podman": "podman"})
    assert "apt-get install podman" in str(caught.value)


def test_missing_podman_through_the_cli_exits_with_its_code(monkeypatch, capsys):
    # podman lives in /usr/bin, which an empty PATH (plus the sbin fallback) hides.
    monkeypatch.setenv("PATH", "")
    assert main(["lab", "status"]) == MissingToolError.exit_code
    assert "apt-get install podman" in capsys.readouterr().err


def test_unknown_playbook_lists_the_ones_there(capsys):
    assert main(["run", "playbooks/nope.yml", "-i", "inventories/example"]) == 2
    message = capsys.readouterr().err
    assert "playbook playbooks/nope.yml not found" in message
    assert "playbooks/site.yml" in message
