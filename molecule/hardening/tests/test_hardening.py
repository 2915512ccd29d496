"""What the hardening role leaves on a host, one group of checks per control.

testinfra goes through `podman exec` here, so each check reads a whole
configuration at once rather than one line per call.
"""

import json

import pytest

KEX = (
    "sntrup761x25519-sha512,sntrup761x25519-sha512@openssh.com,curve25519-sha256,"
    "curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group-exchange-sha256"
)
CIPHERS = (
    "chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes256-ctr,aes192-ctr,"
    "aes128-gcm@openssh.com,aes128-ctr"
)
MACS = "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com"


@pytest.fixture(scope="module")
def sshd(host):
    with host.sudo():
        lines = host.check_output("sshd -T").splitlines()
    return dict(line.split(" ", 1) for line in lines if " " in line)


@pytest.fixture(scope="module")
def record(host):
    with host.sudo():
        return json.loads(host.file("/var/lib/e5ops/hardening/controls.json").content_string)


def test_ssh_keys_only_no_root(sshd):  # HRD-SSH-01, HRD-SSH-02
    assert sshd["permitrootlogin"] == "no"
    assert sshd["passwordauthentication"] == "no"
    assert sshd["kbdinteractiveauthentication"] == "no"
    assert sshd["permitemptypasswords"] == "no"
    assert sshd["authenticationmethods"] == "publickey"


def test_ssh_algorithms_are_the_hardened_policy(sshd):  # HRD-SSH-03
    assert sshd["kexalgorithms"] == KEX
    assert sshd["ciphers"] == CIPHERS
    assert sshd["macs"] == MACS


def test_ssh_host_keys_ed25519_and_rsa_4096_only(host):  # HRD-SSH-04
    with host.sudo():
        keys = host.check_output("ls /etc/ssh/").split()
        rsa = host.check_output("ssh-keygen -l -f /etc/ssh/ssh_host_rsa_key.pub")
        mode = host.file("/etc/ssh/ssh_host_ed25519_key").mode
    assert not [key for key in keys if "ecdsa" in key or "dsa_key" in key]
    assert rsa.startswith("4096 ")
    assert mode == 0o600


def test_ssh_moduli_at_least_3071_bits(host):  # HRD-SSH-05
    small = host.check_output("awk '!/^#/ && $5 < 3071' /etc/ssh/moduli")
    large = host.check_output("awk '!/^#/ && $5 >= 3071' /etc/ssh/moduli | wc -l")
    assert small == ""
    assert int(large) > 0


def test_ssh_session_limits(sshd):  # HRD-SSH-06
    assert sshd["maxauthtries"] == "3"
    assert sshd["x11forwarding"] == "no"
    assert sshd["allowtcpforwarding"] == "no"
    assert sshd["permituserenvironment"] == "no"
    assert sshd["loglevel"] == "VERBOSE"
    assert sshd["banner"] == "/etc/issue.net"


def test_sshd_config_root_only(host):  # HRD-SSH-07
    config = host.file("/etc/ssh/sshd_config")
    assert config.user == "root"
    assert config.mode == 0o600


def test_firewall_drops_by_default_and_admits_ssh_from_admins(host):  # HRD-FW-01..03
    with host.sudo():
        ruleset = host.check_output("nft list ruleset")
    assert host.service("nftables").is_enabled
    assert "hook input priority filter; policy drop;" in ruleset
    assert "hook forward priority filter; policy drop;" in ruleset
    assert "10.88.0.0/16" in ruleset
    assert "tcp dport 22 ip saddr @admin_v4 accept" in ruleset
    # A web server admits its web ports from the load balancers only; with
    # none in this inventory, nothing is admitted.
    assert "tcp dport 80" not in ruleset


def test_network_parameters(host):  # HRD-SYS-01
    values = host.check_output(
        "sysctl -n net.ipv4.ip_forward net.ipv4.conf.all.accept_redirects "
        "net.ipv4.conf.all.rp_filter net.ipv4.tcp_syncookies net.ipv4.conf.all.log_martians"
    ).split()
    assert values == ["0", "0", "1", "1", "1"]


def test_kernel_parameters_waived_in_the_container(record):  # HRD-SYS-02, HRD-AUD-*
    status = {control["id"]: control for control in record["controls"]}
    assert status["HRD-SYS-02"]["status"] == "waived"
    assert "global kernel parameter" in status["HRD-SYS-02"]["reason"]
    assert status["HRD-AUD-01"]["status"] == "waived"
    assert "CAP_AUDIT_CONTROL" in status["HRD-AUD-01"]["reason"]
    assert status["HRD-SYS-01"]["status"] == "applied"
    assert {c["status"] for c in record["controls"]} == {"applied", "waived"}


def test_pam_quality_lockout_history(host):  # HRD-PAM-01..03
    auth = host.file("/etc/pam.d/common-auth").content_string
    account = host.file("/etc/pam.d/common-account").content_string
    password = host.file("/etc/pam.d/common-password").content_string
    assert "pam_faillock.so preauth" in auth
    assert "pam_faillock.so authfail" in auth
    assert auth.index("preauth") < auth.index("pam_unix.so") < auth.index("authfail")
    assert "pam_faillock.so" in account
    assert password.index("pam_pwquality.so") < password.index("pam_pwhistory.so")
    assert "minlen = 14" in host.file("/etc/security/pwquality.conf").content_string
    assert "deny = 5" in host.file("/etc/security/faillock.conf").content_string


def test_login_defaults(host):  # HRD-LOG-01, HRD-LOG-02
    defs = host.file("/etc/login.defs").content_string.splitlines()
    settings = dict(line.split(None, 1) for line in defs if line and not line.startswith("#"))
    assert settings["PASS_MAX_DAYS"] == "365"
    assert settings["UMASK"] == "027"
    assert host.run("bash -lc umask").stdout.strip() == "0027"


def test_core_dumps_off(host):  # HRD-CORE-01
    assert "hard\tcore\t0" in host.file(
        "/etc/security/limits.d/60-e5ops-coredumps.conf"
    ).content_string
    assert "Storage=none" in host.file(
        "/etc/systemd/coredump.conf.d/60-e5ops.conf"
    ).content_string


@pytest.mark.parametrize(
    ("path", "group", "mode"),
    [("/etc/shadow", "shadow", 0o640), ("/etc/gshadow", "shadow", 0o640), ("/etc/passwd", "root", 0o644)],
)
def test_sensitive_files(host, path, group, mode):  # HRD-PERM-01
    target = host.file(path)
    assert (target.user, target.group, target.mode) == ("root", group, mode)


def test_unattended_security_upgrades(host):  # HRD-UPG-01
    assert host.package("unattended-upgrades").is_installed
    config = host.check_output("apt-config dump Unattended-Upgrade::Origins-Pattern")
    assert "-security" in config
    assert "codename=${distro_codename}," not in config
    assert host.service("apt-daily-upgrade.timer").is_enabled


def test_unneeded_packages_absent(host):  # HRD-PKG-01
    assert not host.package("telnet").is_installed
    assert not host.package("rsh-client").is_installed
