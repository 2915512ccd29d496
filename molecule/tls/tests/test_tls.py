"""What the tls role leaves on a host that is its own internal CA.

The TLS checks run a client inside the host: OpenSSL's s_client, allowed by
``@SECLEVEL=0`` to offer the old protocols and ciphers, so that a refusal
comes from the server and not from the client.
"""

import re

import pytest

LIVE = "/etc/ssl/e5ops/live/tls-bookworm"
CA = "/etc/ssl/e5ops-ca"
ENDPOINTS = {"nginx": "127.0.0.1:443", "haproxy": "127.0.0.1:8443"}


def handshake(host, endpoint, *options):
    """Return (succeeded, protocol, cipher) of one handshake with ``options``."""
    command = (
        f"echo | openssl s_client -connect {endpoint} -servername tls-bookworm.e5ops.test "
        f"-CAfile {CA}/root.pem {' '.join(options)} 2>&1"
    )
    out = host.run(command).stdout
    # The line s_client prints right after the handshake; the SSL-Session block
    # of TLS 1.3 may come too late for a client whose input is already closed.
    found = re.search(r"^New, (\S+), Cipher is (\S+)", out, re.MULTILINE)
    ok = found is not None and found.group(2) != "(NONE)"
    return ok, found and found.group(1), found and found.group(2)


def test_chain_verifies_against_the_ca(host):
    out = host.run(f"openssl verify -CAfile {CA}/root.pem -untrusted {LIVE}/chain.pem {LIVE}/cert.pem")
    assert out.rc == 0, out.stdout + out.stderr
    assert out.stdout.strip().endswith(": OK")
    # The full chain is the leaf then the intermediate.
    fullchain = host.file(f"{LIVE}/fullchain.pem").content_string
    assert fullchain.count("BEGIN CERTIFICATE") == 2
    assert fullchain.startswith(host.file(f"{LIVE}/cert.pem").content_string)


@pytest.mark.parametrize(
    "path", [f"{LIVE}/privkey.pem", f"{CA}/private/root.key", f"{CA}/private/intermediate.key"]
)
def test_keys_are_root_only(host, path):
    key = host.file(path)
    assert key.user == "root"
    assert key.group == "root"
    assert key.mode == 0o600


def test_key_is_p256_and_matches_the_certificate(host):
    text = host.run(f"openssl pkey -in {LIVE}/privkey.pem -noout -text").stdout
    assert "prime256v1" in text
    key_pub = host.run(f"openssl pkey -in {LIVE}/privkey.pem -pubout").stdout
    cert_pub = host.run(f"openssl x509 -in {LIVE}/cert.pem -noout -pubkey").stdout
    assert key_pub == cert_pub


def test_no_staging_left_behind(host):
    assert not host.file("/etc/ssl/e5ops/staging/tls-bookworm").exists


@pytest.mark.parametrize("server", sorted(ENDPOINTS))
def test_refuses_tls_1_0_and_1_1(host, server):
    for flag in ("-tls1", "-tls1_1"):
        ok, _, _ = handshake(host, ENDPOINTS[server], flag, "-cipher 'ALL:@SECLEVEL=0'")
        assert not ok, f"{server} accepted {flag}"


@pytest.mark.parametrize("server", sorted(ENDPOINTS))
def test_refuses_non_aead_ciphers(host, server):
    for cipher in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA", "AES128-SHA"):
        ok, _, _ = handshake(host, ENDPOINTS[server], "-tls1_2", f"-cipher '{cipher}:@SECLEVEL=0'")
        assert not ok, f"{server} accepted {cipher}"


@pytest.mark.parametrize("server", sorted(ENDPOINTS))
def test_accepts_tls_1_2_aead_and_tls_1_3(host, server):
    ok, protocol, cipher = handshake(host, ENDPOINTS[server], "-tls1_2")
    assert ok
    assert protocol == "TLSv1.2"
    assert cipher.startswith("ECDHE-ECDSA-") and ("GCM" in cipher or "CHACHA20" in cipher)
    ok, protocol, _ = handshake(host, ENDPOINTS[server], "-tls1_3")
    assert ok
    assert protocol == "TLSv1.3"


@pytest.mark.parametrize("server", sorted(ENDPOINTS))
def test_sends_hsts_and_no_session_ticket(host, server):
    out = host.run(
        "printf 'GET / HTTP/1.1\\r\\nHost: tls-bookworm.e5ops.test\\r\\nConnection: close\\r\\n\\r\\n'"
        f" | openssl s_client -quiet -tls1_2 -connect {ENDPOINTS[server]}"
        f" -servername tls-bookworm.e5ops.test -CAfile {CA}/root.pem 2>/dev/null"
    ).stdout
    assert re.search(r"(?im)^strict-transport-security:\s*max-age=63072000", out), out
    session = host.run(
        f"echo | openssl s_client -tls1_2 -connect {ENDPOINTS[server]} -CAfile {CA}/root.pem 2>&1"
    ).stdout
    assert "TLS session ticket:" not in session


def test_expiry_metric_matches_the_certificate(host):
    metric = host.file("/var/lib/prometheus/node-exporter/e5ops_tls.prom").content_string
    found = re.search(
        r'^e5ops_tls_certificate_not_after_seconds\{name="tls-bookworm",mode="internal_ca"\} (\d+)$',
        metric,
        re.MULTILINE,
    )
    assert found, metric
    not_after = host.run(f"openssl x509 -in {LIVE}/cert.pem -noout -enddate").stdout
    epoch = host.run(f"date -d \"{not_after.split('=', 1)[1].strip()}\" +%s").stdout.strip()
    assert found.group(1) == epoch
