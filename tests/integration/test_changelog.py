"""Changelog fragments are valid for antsibull-changelog and make a release changelog."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


def _changelog(*args, cwd):
    return subprocess.run(
        [BIN / "antsibull-changelog", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_fragments_pass_the_linter(project):
    result = _changelog("lint", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_a_release_renders_every_fragment(project, tmp_path):
    tree = tmp_path / "collection"
    shutil.copytree(project / "changelogs", tree / "changelogs")
    shutil.copy(project / "galaxy.yml", tree / "galaxy.yml")
    fragments = {
        path.name: yaml.safe_load(path.read_text())
        for path in sorted((tree / "changelogs" / "fragments").glob("*.yml"))
    }
    assert fragments, "no changelog fragments"
    version = yaml.safe_load((tree / "galaxy.yml").read_text())["version"]
    result = _changelog("release", "--version", f"{version}-test", "--date", "2026-12-03", cwd=tree)
    assert result.returncode == 0, result.stdout + result.stderr
    rendered = (tree / "CHANGELOG.rst").read_text()
    words = " ".join(rendered.split())
    for name, sections in fragments.items():
        for entries in sections.values():
            for entry in entries if isinstance(entries, list) else [entries]:
                first_words = " ".join(entry.split()[:4])
                assert first_words in words, f"{name}: {entry}"
