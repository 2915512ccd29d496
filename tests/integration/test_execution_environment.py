"""The execution environment definition is valid for ansible-builder.

An image cannot be built here (no container registry to pull the base
from), so the test stops after `ansible-builder create`, which validates the
definition and writes the build context.
"""

import subprocess
import sys
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def test_ansible_builder_creates_the_build_context(project, tmp_path):
    result = subprocess.run(
        [BIN / "ansible-builder", "create", "--file", "execution-environment.yml",
         "--context", tmp_path / "context", "--output-filename", "Containerfile"],
        capture_output=True, text=True, cwd=project, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    containerfile = (tmp_path / "context" / "Containerfile").read_text()
    assert "community-ee-base" in containerfile
    build = tmp_path / "context" / "_build"
    requirements = yaml.safe_load((build / "requirements.yml").read_text())
    names = {c["name"] for c in requirements["collections"]}
    assert names == {"ansible.posix", "community.crypto", "community.general"}
    assert "securesystemslib" in (build / "requirements.txt").read_text()
    assert "openssh-clients" in (build / "bindep.txt").read_text()


def test_ee_collections_match_the_collection_dependencies(project):
    galaxy = yaml.safe_load((project / "galaxy.yml").read_text())
    ee = yaml.safe_load((project / "meta" / "ee-requirements.yml").read_text())
    assert {c["name"]: c["version"] for c in ee["collections"]} == galaxy["dependencies"]
