"""The repository host locks each client's user into its chroot with internal-sftp only."""

testinfra_hosts = ["ansible://backup-repo-bookworm"]

USER = "restic-backup-client-bookworm"


def test_sshd_forces_sftp_in_a_chroot_for_the_client_user(host):
    with host.sudo():
        effective = host.run(f"sshd -T -C user={USER},host=client,addr=192.0.2.1").stdout
        other = host.run("sshd -T -C user=deploy,host=client,addr=192.0.2.1").stdout
    assert "forcecommand internal-sftp" in effective
    assert f"chrootdirectory /srv/restic/{USER}" in effective.replace("%u", USER)
    assert "allowtcpforwarding no" in effective
    assert "forcecommand none" in other


def test_chroot_is_root_owned_and_repository_private(host):
    chroot = host.file(f"/srv/restic/{USER}")
    assert chroot.user == "root"
    assert chroot.mode == 0o755
    repository = host.file(f"/srv/restic/{USER}/repo")
    assert repository.user == USER
    assert repository.mode == 0o700
    assert host.file(f"/srv/restic/{USER}/repo/config").exists
    keys = host.file(f"/etc/ssh/e5ops-backup-keys/{USER}")
    assert keys.user == "root"
    assert keys.content_string.startswith("restrict ssh-ed25519 ")
