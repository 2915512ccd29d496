"""What the backup role leaves on a client and on the repository host, and that it works.

The checks run real jobs: a backup over SFTP, a restore drill verified against the
manifest, and a login attempt that the restricted user must not be allowed.
"""

import json

testinfra_hosts = ["ansible://backup-client-bookworm"]

SSH = "ssh -F /etc/e5ops/backup/ssh_config e5ops-backup-repository"
METRICS = "/var/lib/prometheus/node-exporter/e5ops_backup.prom"


def test_timers_are_enabled_and_waiting(host):
    for unit in ("e5ops-backup", "e5ops-backup-forget", "e5ops-backup-check"):
        timer = host.service(f"{unit}.timer")
        assert timer.is_enabled, unit
        assert timer.is_running, unit
    delay = host.run("systemctl show -P RandomizedDelayUSec e5ops-backup.timer").stdout.strip()
    assert delay == "5min"


def test_secrets_are_root_only(host):
    for name in ("password", "id_ed25519", "config.json"):
        secret = host.file(f"/etc/e5ops/backup/{name}")
        assert secret.user == "root"
        assert secret.mode == 0o600, name


def test_restricted_user_gets_no_shell(host):
    result = host.run(f"{SSH} id")
    assert result.rc != 0
    assert "uid=" not in result.stdout


def test_backup_runs_writes_metrics_and_restores_byte_for_byte(host):
    with host.sudo():
        backup = host.run("systemctl start e5ops-backup.service")
        assert backup.rc == 0, host.run("journalctl -u e5ops-backup -n 20 --no-pager").stdout
        metrics = host.file(METRICS).content_string
        assert "e5ops_backup_last_exit_status 0" in metrics
        assert "e5ops_backup_last_success_timestamp_seconds 0\n" not in metrics
        drill = host.run("/usr/local/sbin/e5ops-backup drill")
    report = json.loads(drill.stdout.splitlines()[-1])
    assert drill.rc == 0, report
    assert report["ok"] is True
    assert report["files_verified"] == report["files_expected"] > 50
    assert report["mismatched"] == report["missing"] == report["extra"] == 0
