"""The backup role's job program, run on the controller against a real local restic repository.

`roles/backup/files/usr/local/sbin/e5ops-backup` is what the timers start on every
client. Here it backs up a small tree into a repository in a temporary directory
(restic treats a local path like the SFTP one), so its manifest, drill, metrics
and failure paths are checked in seconds. Needs Debian's restic on the controller
(scripts/packages/backup.txt), and promtool checks the metrics files;
without them the tests fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import runpy
import subprocess
from pathlib import Path

import pytest

PROGRAM = Path("roles/backup/files/usr/local/sbin/e5ops-backup")


@pytest.fixture(scope="module")
def job():
    return runpy.run_path(str(PROGRAM), run_name="e5ops_backup")


@pytest.fixture
def config(tmp_path):
    data = tmp_path / "srv" / "app"
    (data / "nested" / "deeper").mkdir(parents=True)
    (data / "a.txt").write_text("alpha\n")
    (data / "nested" / "b.bin").write_bytes(os.urandom(200_000))
    (data / "nested" / "deeper" / "c with space.txt").write_text("gamma\n")
    (data / "nested" / "scratch.tmp").write_text("left out\n")
    (data / "empty").write_bytes(b"")
    (data / "link").symlink_to("nested/b.bin")
    (tmp_path / "password").write_text("unit-test-only\n")
    (tmp_path / "metrics").mkdir()
    return {
        "host": "unit-host",
        "repository": str(tmp_path / "repo"),
        "sftp_command": "false",
        "password_file": str(tmp_path / "password"),
        "cache_dir": str(tmp_path / "cache"),
        "state_dir": str(tmp_path / "state"),
        "lock_file": str(tmp_path / "lock" / "e5ops-backup.lock"),
        "lock_timeout": 5,
        "paths": [str(data)],
        "excludes": ["*.tmp"],
        "hooks": {"pre": [], "post": []},
        "retention": {"daily": 7, "weekly": 4, "monthly": 6, "yearly": 0},
        "check_subsets": 7,
        "metrics_dir": str(tmp_path / "metrics"),
        "tags": ["e5ops"],
    }


def metrics(config, job_name):
    text = (Path(config["metrics_dir"]) / f"e5ops_{job_name}.prom").read_text()
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


def drill_args(tmp_path, **overrides):
    values = {
        "target": str(tmp_path / "drill"),
        "in_place": False,
        "snapshot": "latest",
        "host": None,
        "keep": False,
    }
    return argparse.Namespace(**{**values, **overrides})


def backed_up(job, config, capsys):
    assert job["job_init"](config, dry_run=False) == 0
    assert capsys.readouterr().out.strip() == "initialized"
    assert job["job_run"](config) == 0


def test_check_reads_every_subset_within_its_rotation(job, config):
    start = dt.date(2026, 12, 3)
    subsets = {
        job["check_subset"](config, None, today=start + dt.timedelta(days=n)) for n in range(7)
    }
    assert subsets == {f"{n}/7" for n in range(1, 8)}
    assert job["check_subset"]({**config, "check_subsets": 0}, None) is None
    assert job["check_subset"](config, "1/1") == "1/1"


def test_backup_and_drill_match_byte_for_byte(job, config, tmp_path, capsys):
    backed_up(job, config, capsys)
    manifest = json.loads((Path(config["state_dir"]) / "manifest.json").read_text())
    names = {Path(p).name for p in manifest["files"]}
    assert names == {"a.txt", "b.bin", "c with space.txt", "empty"}
    assert list(manifest["symlinks"].values()) == ["nested/b.bin"]
    values = metrics(config, "backup")
    assert values["e5ops_backup_last_exit_status"] == 0
    assert values["e5ops_backup_last_files"] == 5  # four files and the manifest
    assert values["e5ops_backup_last_success_timestamp_seconds"] > 1.7e9

    capsys.readouterr()
    assert job["job_drill"](config, drill_args(tmp_path)) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["ok"] is True
    assert report["files_expected"] == report["files_verified"] == 4
    assert report["bytes_verified"] == 200_000 + len("alpha\n") + len("gamma\n")
    assert report["mismatched"] == report["missing"] == report["extra"] == 0
    assert report["symlinks_wrong"] == 0
    assert report["restore_seconds"] > 0
    assert not Path(report["target"]).exists()
    drill = metrics(config, "backup_restore_drill")
    assert drill["e5ops_backup_restore_drill_last_exit_status"] == 0
    for written in Path(config["metrics_dir"]).glob("*.prom"):
        lint = subprocess.run(
            ["promtool", "check", "metrics"],
            input=written.read_text(),
            capture_output=True,
            text=True,
            check=False,
        )
        assert lint.returncode == 0, (written.name, lint.stdout + lint.stderr)


def test_a_changed_or_missing_file_fails_verification(job, config, tmp_path, capsys):
    backed_up(job, config, capsys)
    capsys.readouterr()
    assert job["job_drill"](config, drill_args(tmp_path, keep=True)) == 0
    target = Path(json.loads(capsys.readouterr().out.splitlines()[-1])["target"])
    restored = target / config["paths"][0].lstrip("/")
    (restored / "a.txt").write_text("alpha, changed\n")
    (restored / "empty").unlink()
    (restored / "unexpected").write_text("not in the manifest\n")
    manifest = json.loads((Path(config["state_dir"]) / "manifest.json").read_text())
    report = job["verify_tree"](manifest, str(target), strict_extra=True)
    assert report["ok"] is False
    assert (report["mismatched"], report["missing"], report["extra"]) == (1, 1, 1)
    assert report["examples"]["mismatched"] == [f"{config['paths'][0]}/a.txt"]


def test_missing_path_fails_clearly_and_keeps_the_last_success(job, config, capsys):
    backed_up(job, config, capsys)
    success = metrics(config, "backup")["e5ops_backup_last_success_timestamp_seconds"]
    broken = {**config, "paths": [*config["paths"], "/srv/no-such-data"]}
    assert job["job_run"](broken) == 1
    assert "backup path(s) do not exist: /srv/no-such-data" in capsys.readouterr().err
    values = metrics(config, "backup")
    assert values["e5ops_backup_last_exit_status"] == 1
    assert values["e5ops_backup_last_success_timestamp_seconds"] == success


def test_failing_pre_hook_stops_the_backup_and_post_hooks_see_it(job, config, tmp_path, capsys):
    assert job["job_init"](config, dry_run=False) == 0
    seen = tmp_path / "post-hook-saw"
    hooked = {
        **config,
        "hooks": {
            "pre": [{"name": "dump the database", "command": "exit 3"}],
            "post": [{"name": "record", "command": f'echo "$E5OPS_BACKUP_STATUS" > {seen}'}],
        },
    }
    assert job["job_run"](hooked) == 1
    assert "pre hook 'dump the database' failed" in capsys.readouterr().err
    assert seen.read_text().strip() == "failure"
    listed = job["restic"](config, "snapshots", "--json")
    assert json.loads(listed.stdout) == []


def test_corrupted_pack_fails_the_check(job, config, capsys):
    backed_up(job, config, capsys)
    assert job["job_check"](config, "1/1") == 0
    pack = max((Path(config["repository"]) / "data").rglob("*"), key=lambda p: p.stat().st_size)
    content = bytearray(pack.read_bytes())
    content[len(content) // 2] ^= 0xFF
    pack.chmod(0o644)
    pack.write_bytes(bytes(content))
    assert job["job_check"](config, "1/1") == 1
    assert "repository contains errors" in capsys.readouterr().err
    assert metrics(config, "backup_check")["e5ops_backup_check_last_exit_status"] == 1


def test_retention_that_keeps_nothing_is_refused(job, config, capsys):
    keep_nothing = {**config, "retention": {"daily": 0, "weekly": 0, "monthly": 0}}
    assert job["job_forget"](keep_nothing) == 1
    assert "refusing to forget every snapshot" in capsys.readouterr().err


def test_invalid_configuration_is_described(job, config, tmp_path):
    assert job["validate_config"](config) == []
    problems = job["validate_config"]({**config, "paths": ["relative/path"], "lock_timeout": "x"})
    assert problems == ["lock_timeout must be a int"]
    problems = job["validate_config"]({**config, "paths": ["relative/path"]})
    assert problems == ["path 'relative/path' is not absolute"]
    managed = tmp_path / "config.json"
    managed.write_text("# Ansible managed\n" + json.dumps(config))
    assert job["load_config"](str(managed)) == config


def test_metric_values_keep_every_digit(job):
    assert job["number"](1796316766.098) == "1796316766.098"
    assert job["number"](175) == "175"


def test_a_refused_write_is_named_without_the_stack_trace(job):
    # What restic 0.14 printed in the fault suite when the repository's disk was full.
    stderr = (
        "Save(<lock/4f1e2c>) returned error, retrying after 552.330144ms: Failure\n"
        "unable to create lock in backend: Failure\n"
        "github.com/restic/restic/internal/backend/sftp.(*SFTP).Save\n"
        "\t/build/restic/internal/backend/sftp/sftp.go:385\n"
        "runtime.goexit\n"
        "\truntime/asm_amd64.s:1594\n"
    )
    result = subprocess.CompletedProcess(["restic"], 1, stdout="", stderr=stderr)
    message = str(job["restic_failure"]("restic backup", result))
    assert message.startswith("restic backup failed: the repository refused a write")
    assert "disk full" in message
    assert "unable to create lock in backend: Failure" in message
    assert "runtime" not in message
    assert ".go:" not in message
