"""The collection as users get it: built, installed elsewhere, sanity-checked by Ansible's tools."""

import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def _bundled_collections():
    """Where the ansible package keeps the collections ours depends on."""
    import ansible_collections  # noqa: PLC0415 - the namespace package of the ansible package

    return [str(Path(p).parent) for p in ansible_collections.__path__]


def _run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{command}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def tarball(project, tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    _run([BIN / "ansible-galaxy", "collection", "build", "--output-path", out, project])
    (built,) = out.glob("e5ops-production-*.tar.gz")
    return built


def test_tarball_holds_the_collection_and_nothing_of_the_checkout(tarball, project):
    version = yaml.safe_load((project / "galaxy.yml").read_text())["version"]
    assert tarball.name == f"e5ops-production-{version}.tar.gz"
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {"MANIFEST.json", "FILES.json", "meta/runtime.yml"} <= names
    assert "roles/preflight/tasks/main.yml" in names
    leaked = {n for n in names if n.split("/")[0] in {"src", ".e5ops", ".venv", ".git"}}
    leaked |= {n for n in names if n.startswith(("tests/unit", "tests/integration"))}
    assert not leaked


@pytest.mark.lab
def test_installed_collection_runs_a_role_by_fqcn(tarball, shared_lab, tmp_path):
    collections = tmp_path / "collections"
    # Outside the checkout, with no ansible.cfg: only the fresh path can resolve the FQCN.
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": os.pathsep.join([str(collections), *_bundled_collections()]),
        "ANSIBLE_CONFIG": "",
        "ANSIBLE_ROLES_PATH": str(tmp_path / "no-roles"),
    }
    _run(
        # Its dependencies come with the ansible package; Galaxy is not reachable here.
        [BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, tarball],
        env=env,
        cwd=tmp_path,
    )
    assert (collections / "ansible_collections/e5ops/production/roles/preflight").is_dir()
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Run a role of the installed collection\n"
        "  hosts: all\n"
        "  roles:\n"
        "    - role: e5ops.production.preflight\n"
    )
    inventory = shared_lab.config.inventory_dir / "hosts.yml"
    result = _run([BIN / "ansible-playbook", "-i", inventory, playbook], env=env, cwd=tmp_path)
    assert re.search(r"web1\s+: ok=\d+\s+changed=\d+\s+unreachable=0\s+failed=0", result.stdout)
    assert "Create the state directories of e5ops" in result.stdout


def _ansible_test_pip_version():
    import ansible_test  # noqa: PLC0415 - only this test needs it

    source = Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
    found = re.search(r"pip='([0-9.]+)'", source.read_text())
    assert found, f"no pip version pinned in {source}: update the shim's installation"
    return found[1]


def test_ansible_test_sanity_passes_on_the_built_collection(tarball, project, tmp_path):
    """ansible-test sanity on exactly what users install; every ignore says why."""
    version = _ansible_test_pip_version().replace(".", "_")
    shim = Path.home() / ".ansible/test/cache" / f"get_pip_{version}.py"
    if not shim.exists():
        shim.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(project / "tests/support/get_pip_offline.py", shim)
    tree = tmp_path / "ansible_collections/e5ops/production"
    tree.mkdir(parents=True)
    with tarfile.open(tarball) as archive:
        archive.extractall(tree, filter="data")
    for ignore in tree.glob("tests/sanity/ignore-*.txt"):
        for line in filter(None, ignore.read_text().splitlines()):
            assert " # " in line, f"{ignore.name}: an ignore without its reason: {line}"
    result = subprocess.run(
        [BIN / "ansible-test", "sanity", "--python", f"{sys.version_info[0]}.{sys.version_info[1]}",
         "--local", "--color", "no"],
        capture_output=True, text=True, cwd=tree, check=False,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-5000:]
    assert "Running sanity test" in output
