"""Backups that restore: the backup role and restore_drill.yml on two real lab hosts.

web1 carries a stand-in application (files served over HTTP by a systemd
service); backup1 keeps the restic repository. In order, the tests show bad input
failing before any change, a backup with its metrics, a restore drill matching
byte for byte, a corrupted pack found by `restic check`, an unreachable
repository failing loudly, and a disaster recovery: web1 destroyed, rebuilt,
restored, its service serving the same bytes again.

Needs podman, runc and the lab image (`make test` provides them); without them
the tests fail, they do not skip.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request

import pytest
import yaml

from e5ops.lab import Lab, LabConfig

pytestmark = pytest.mark.lab

LAB_NAME = "bak-t"
SUBNET = "10.231.82.0/24"
WEB1 = "10.231.82.20"
METRICS_DIR = "/var/lib/prometheus/node-exporter"
log = logging.getLogger(__name__)
PASSWORD = "itest-" + secrets.token_urlsafe(24)


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name=LAB_NAME, subnet=SUBNET))
    lab.down()
    lab.up(("web1", "backup1"))
    yield lab
    lab.down()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("backup")


@pytest.fixture(scope="module")
def app_data(workdir):
    """Files of the stand-in application: binary, text, nested, odd names, a symlink."""
    source = workdir / "app-data"
    rng = secrets.SystemRandom()
    (source / "uploads" / "2026" / "12").mkdir(parents=True)
    files = {
        "index.html": b"<h1>stand-in</h1>\n",
        "uploads/big.bin": os.urandom(3 * 1024 * 1024),
        "uploads/empty": b"",
        "uploads/with space and \u00fcml\u00e4ut.txt": "gr\u00fc\u00df dich\n".encode(),
    }
    for n in range(120):
        files[f"uploads/2026/12/item-{n:03d}.dat"] = os.urandom(rng.randint(1, 20000))
    for name, content in files.items():
        (source / name).write_bytes(content)
    (source / "latest.bin").symlink_to("uploads/big.bin")
    seed = workdir / "app-data.tar.gz"
    with tarfile.open(seed, "w:gz") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    return {"seed": seed, "files": files}


@pytest.fixture(scope="module")
def secret_vars(workdir):
    path = workdir / "vault.yml"
    path.write_text(yaml.safe_dump({"backup_repository_password": PASSWORD}))
    path.chmod(0o600)
    return path


def play(project, lab, playbook, extravars, *files):
    """Run a playbook with the JSON callback; return (rc, parsed output, raw output)."""
    command = [
        str(project / ".venv/bin/ansible-playbook"),
        "-i", str(lab.config.inventory_dir / "hosts.yml"),
        str(project / playbook),
        "-e", json.dumps(extravars),
    ]  # fmt: skip
    for extra in files:
        command += ["-e", f"@{extra}"]
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(project / "ansible.cfg"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_SHOW_CUSTOM_STATS": "true",
        "ANSIBLE_CALLBACK_RESULT_FORMAT": "json",
    }
    # Hosts are stopped and rebuilt between plays: no SSH master may outlive one.
    with tempfile.TemporaryDirectory(prefix="e5ops-cp-") as control_dir:
        env["ANSIBLE_SSH_CONTROL_PATH_DIR"] = control_dir
        result = subprocess.run(
            command, capture_output=True, text=True, cwd=project, env=env, check=False
        )
    try:
        output = json.loads(result.stdout)
    except json.JSONDecodeError:
        output = {}
    return result.returncode, output, result.stdout + result.stderr


def failures(output):
    """Messages of the failed tasks, host by host."""
    found = []
    for each in output.get("plays", []):
        for task in each.get("tasks", []):
            for host, result in task.get("hosts", {}).items():
                if result.get("failed"):
                    found.append((host, task["task"]["name"], str(result.get("msg", ""))))
    return found


def on(lab, host, *command, check=True):
    """Run a command as root inside a lab host (a probe beside Ansible, not a change)."""
    return lab.podman.exec(lab.config.container(host), *command, check=check)


def metrics(lab, job):
    text = on(lab, "web1", "cat", f"{METRICS_DIR}/e5ops_{job}.prom").stdout
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }


CLIENT = {"e5ops_backup_clients": "web1", "backup_paths": ["/srv/app"]}


def test_missing_password_fails_before_anything_changes(lab, project):
    # Given as an empty extra var, so no inventory value can stand in for it.
    extravars = {**CLIENT, "backup_repository_password": ""}
    rc, output, _raw = play(project, lab, "playbooks/backup.yml", extravars)
    assert rc != 0
    messages = [msg for host, _task, msg in failures(output) if host == "web1"]
    assert len(messages) == 1
    assert "backup_repository_password" in messages[0]
    assert output["stats"]["web1"]["changed"] == 0
    assert on(lab, "web1", "test", "-e", "/etc/e5ops/backup", check=False).returncode == 1
    assert on(lab, "web1", "sh", "-c", "command -v restic", check=False).returncode != 0


def test_missing_backup_path_is_a_clear_error(lab, project, secret_vars):
    extravars = {**CLIENT, "backup_paths": ["/srv/app", "/srv/no-such-data"]}
    rc, output, _raw = play(project, lab, "playbooks/backup.yml", extravars, secret_vars)
    assert rc != 0
    (message,) = [msg for host, _task, msg in failures(output) if host == "web1"]
    assert "backup_paths" in message
    assert "/srv/no-such-data" in message
    assert output["stats"]["web1"]["changed"] == 0


def test_backup_converges_runs_and_writes_metrics(lab, project, app_data, secret_vars):
    rc, _output, raw = play(
        project, lab, "tests/integration/playbooks/backup_standin_app.yml",
        {"standin_app_seed": str(app_data["seed"])},
    )  # fmt: skip
    assert rc == 0, raw
    started = time.monotonic()
    rc, _output, raw = play(project, lab, "playbooks/backup.yml", CLIENT, secret_vars)
    converge_seconds = time.monotonic() - started
    assert rc == 0, raw
    assert PASSWORD not in raw
    log.info("converge: %.1f s", converge_seconds)

    before = time.time()
    backup = on(lab, "web1", "systemctl", "start", "e5ops-backup.service", check=False)
    assert backup.returncode == 0, on(lab, "web1", "journalctl", "-u", "e5ops-backup").stdout
    values = metrics(lab, "backup")
    assert values["e5ops_backup_last_exit_status"] == 0
    assert values["e5ops_backup_last_success_timestamp_seconds"] >= before - 1
    assert values["e5ops_backup_last_files"] == len(app_data["files"]) + 1  # and the manifest
    assert values["e5ops_backup_last_size_bytes"] >= sum(map(len, app_data["files"].values()))
    log.info("backup: %.1f s", values["e5ops_backup_last_duration_seconds"])

    manifest = json.loads(on(lab, "web1", "cat", "/var/lib/e5ops/backup/manifest.json").stdout)
    for name, content in app_data["files"].items():
        entry = manifest["files"][f"/srv/app/data/{name}"]
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert manifest["symlinks"]["/srv/app/data/latest.bin"] == "uploads/big.bin"


def test_restore_drill_matches_byte_for_byte(lab, project, app_data):
    rc, output, raw = play(
        project, lab, "playbooks/restore_drill.yml", {"restore_drill_hosts": "web1"}
    )
    assert rc == 0, raw
    evidence = output["global_custom_stats"]["e5ops_evidence"]["restore_drill"]["web1"]
    assert evidence["ok"] is True
    assert evidence["files_expected"] == evidence["files_verified"] == len(app_data["files"])
    assert evidence["bytes_verified"] == sum(map(len, app_data["files"].values()))
    assert evidence["mismatched"] == evidence["missing"] == evidence["extra"] == 0
    assert evidence["symlinks_expected"] == 1
    assert evidence["symlinks_wrong"] == 0
    assert evidence["restore_seconds"] > 0
    assert PASSWORD not in raw
    assert on(lab, "web1", "test", "-e", evidence["target"], check=False).returncode == 1
    drill = metrics(lab, "backup_restore_drill")
    assert drill["e5ops_backup_restore_drill_last_exit_status"] == 0
    log.info(
        "drill: %s files, %s bytes, restore %s s, verify %s s",
        evidence["files_verified"], evidence["bytes_verified"],
        evidence["restore_seconds"], evidence["verify_seconds"],
    )  # fmt: skip


def test_a_changed_file_fails_the_drill(lab):
    # Keep the scratch copy, damage one restored file, verify again: the
    # verifier must see the difference, not trust restic's word.
    kept = on(lab, "web1", "/usr/local/sbin/e5ops-backup", "drill", "--keep")
    target = json.loads(kept.stdout.splitlines()[-1])["target"]
    damaged = f"{target}/srv/app/data/uploads/big.bin"
    on(lab, "web1", "sh", "-c", f"printf X | dd of='{damaged}' bs=1 seek=1000 conv=notrunc")
    script = (
        "import json, runpy, sys\n"
        "verify = runpy.run_path('/usr/local/sbin/e5ops-backup', run_name='drill')['verify_tree']\n"
        "manifest = json.load(open(sys.argv[1] + '/var/lib/e5ops/backup/manifest.json'))\n"
        "print(json.dumps(verify(manifest, sys.argv[1], strict_extra=True)))\n"
    )
    verified = json.loads(on(lab, "web1", "python3", "-c", script, target).stdout)
    on(lab, "web1", "rm", "-rf", target)
    assert verified["ok"] is False
    assert verified["mismatched"] == 1
    assert verified["examples"]["mismatched"] == ["/srv/app/data/uploads/big.bin"]


def test_corrupted_pack_is_found_by_check(lab):
    packs = on(
        lab,
        "backup1",
        "sh",
        "-c",
        "find /srv/restic/restic-web1/repo/data -type f -printf '%s %p\\n' | sort -n",
    )
    largest = packs.stdout.splitlines()[-1].split()[1]
    on(lab, "backup1", "cp", "-p", largest, "/srv/pack.orig")
    on(
        lab,
        "backup1",
        "sh",
        "-c",
        f"size=$(stat -c %s {largest}); "
        f"printf CORRUPT | dd of={largest} bs=1 seek=$((size / 2)) conv=notrunc",
    )
    try:
        full = on(
            lab,
            "web1",
            "/usr/local/sbin/e5ops-backup",
            "check",
            "--read-data-subset",
            "1/1",
            check=False,
        )
        assert full.returncode == 1
        assert "Pack ID does not match" in full.stderr or "contains errors" in full.stderr
        assert metrics(lab, "backup_check")["e5ops_backup_check_last_exit_status"] == 1
        # The daily rotation reads every pack within its seven days.
        failing = [
            n
            for n in range(1, 8)
            if on(
                lab,
                "web1",
                "/usr/local/sbin/e5ops-backup",
                "check",
                "--read-data-subset",
                f"{n}/7",
                check=False,
            ).returncode
            != 0
        ]
        assert len(failing) >= 1
        log.info(
            "corrupted pack: full check exit %s, failing subsets %s of 7", full.returncode, failing
        )
    finally:
        on(lab, "backup1", "cp", "-p", "/srv/pack.orig", largest)
    assert (
        on(
            lab,
            "web1",
            "/usr/local/sbin/e5ops-backup",
            "check",
            "--read-data-subset",
            "1/1",
            check=False,
        ).returncode
        == 0
    )


def test_unreachable_repository_fails_loudly(lab):
    before = metrics(lab, "backup")["e5ops_backup_last_success_timestamp_seconds"]
    lab.podman.run("stop", "--time", "2", lab.config.container("backup1"))
    try:
        backup = on(lab, "web1", "systemctl", "start", "e5ops-backup.service", check=False)
        assert backup.returncode != 0
        state = on(lab, "web1", "systemctl", "is-failed", "e5ops-backup.service", check=False)
        assert state.stdout.strip() == "failed"
        journal = on(lab, "web1", "journalctl", "-u", "e5ops-backup", "-n", "20").stdout
        assert "repository unreachable over SFTP" in journal
        values = metrics(lab, "backup")
        assert values["e5ops_backup_last_exit_status"] == 1
        assert values["e5ops_backup_last_success_timestamp_seconds"] == before
    finally:
        lab.up(("web1", "backup1"))


def fetch(path):
    with urllib.request.urlopen(f"http://{WEB1}:8080/{path}", timeout=10) as response:
        return response.read()


def test_disaster_recovery_of_a_destroyed_web_host(lab, project, app_data, secret_vars):
    assert fetch("uploads/big.bin") == app_data["files"]["uploads/big.bin"]
    # 1. Destroy: the whole host goes, data, key and host key with it.
    lab.podman.run("rm", "--force", lab.config.container("web1"))
    started = time.monotonic()
    lab.up(("web1", "backup1"))
    # 2. Rebuild and restore: the application without data, the backup role
    #    (a new key for the same repository), then the last snapshot in place.
    rc, _output, raw = play(project, lab, "tests/integration/playbooks/backup_standin_app.yml", {})
    assert rc == 0, raw
    with pytest.raises(urllib.error.HTTPError):
        fetch("uploads/big.bin")
    rc, _output, raw = play(project, lab, "playbooks/backup.yml", CLIENT, secret_vars)
    assert rc == 0, raw
    rc, output, raw = play(
        project, lab, "playbooks/restore_drill.yml",
        {"restore_drill_hosts": "web1", "restore_drill_mode": "in_place"},
    )  # fmt: skip
    assert rc == 0, raw
    evidence = output["global_custom_stats"]["e5ops_evidence"]["restore_drill"]["web1"]
    assert evidence["mode"] == "in_place"
    assert evidence["ok"] is True
    assert evidence["files_verified"] == len(app_data["files"])
    on(lab, "web1", "systemctl", "restart", "standin-app.service")
    recovery_seconds = time.monotonic() - started
    # 3. The service is back, with its data, byte for byte.
    deadline = time.monotonic() + 30
    while True:
        try:
            fetch("index.html")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    for name, content in app_data["files"].items():
        quoted = urllib.request.pathname2url(name)
        assert fetch(quoted) == content, name
    assert fetch("latest.bin") == app_data["files"]["uploads/big.bin"]
    log.info(
        "disaster recovery: %.1f s from host loss to service with data; restore %s s",
        recovery_seconds, evidence["restore_seconds"],
    )  # fmt: skip
