"""Certificates that a client trusts: the tls role on three real lab hosts.

ca1 keeps the internal CA, runs Pebble (Debian's ACME test server) and takes
its own certificate from the internal CA; web1 gets its certificate from
Pebble over a real HTTP-01 challenge; both serve HTTPS with nginx. Two hosts
only, so that the lab stays small on a shared machine. In order, the tests
show: bad input failing before any change, each chain verifying from the
controller against its root, the evidence (and no key in it), testssl's
rating of ca1's HTTPS, a second run leaving the certificates byte for byte the
same, and a certificate close to expiry renewed.

Needs podman, runc, the lab image and testssl.sh 3.2 (`make test` provides
them; testssl comes from scripts/install-testssl); without them the tests
fail, they do not skip.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import ssl
import time
import urllib.request

import pytest

from e5ops.lab import Lab, LabConfig
from e5ops.runner import run_playbook

pytestmark = pytest.mark.lab

LAB_NAME = "tls-t"
SUBNET = "10.231.42.0/24"
ADDRESS = {"ca1": "10.231.42.130", "web1": "10.231.42.20"}
LIVE = "/etc/ssl/e5ops/live"
CERT_FILES = ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem")


@pytest.fixture(scope="module")
def lab(project):
    lab = Lab(LabConfig(project=project, name=LAB_NAME, subnet=SUBNET))
    lab.down()
    lab.up(tuple(ADDRESS))
    yield lab
    lab.down()


def run(project, lab, playbook, **options):
    return run_playbook(
        project=project,
        playbook=f"tests/integration/playbooks/{playbook}",
        inventory=lab.config.inventory_dir / "hosts.yml",
        **options,
    )


def on(lab, host, *command):
    """Run a command as root inside a lab host (a probe beside Ansible, not a change)."""
    return lab.podman.exec(lab.config.container(host), *command).stdout


def files_state(lab, host):
    """sha256 and modification time of each file of the host's certificate."""
    out = on(lab, host, "sh", "-c", f"cd {LIVE}/{host} && sha256sum {' '.join(CERT_FILES)}")
    times = on(lab, host, "sh", "-c", f"cd {LIVE}/{host} && stat -c '%n %Y' {' '.join(CERT_FILES)}")
    return out, times


def evidence(result):
    return result.published["e5ops_evidence"]["tls"]


def served_certificate(host, root_pem, tmp_path):
    """Connect to the host's nginx as a browser would, trusting only ``root_pem``."""
    cafile = tmp_path / f"root-{host}.pem"
    cafile.write_text(root_pem)
    context = ssl.create_default_context(cafile=str(cafile))
    name = f"{host}.e5ops.test"
    with (
        socket.create_connection((ADDRESS[host], 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.getpeercert(binary_form=True), tls.getpeercert(), tls.version()


def colon_sha256(der):
    return ":".join(f"{byte:02x}" for byte in hashlib.sha256(der).digest())


@pytest.fixture(scope="module")
def first_run(lab, project):
    result = run(project, lab, "tls_lab.yml")
    assert result.ok, result.failures
    return result


@pytest.fixture(scope="module")
def roots(lab, first_run):  # noqa: ARG001 - the lab must be set up first
    listener_ca = on(lab, "ca1", "cat", "/etc/pebble/listener-ca.pem")
    context = ssl.create_default_context(cadata=listener_ca)
    url = f"https://{ADDRESS['ca1']}:15000/roots/0"
    with urllib.request.urlopen(url, context=context, timeout=10) as answer:
        pebble_root = answer.read().decode()
    return {
        "web1": pebble_root,
        "ca1": on(lab, "ca1", "cat", "/etc/ssl/e5ops-ca/root.pem"),
    }


BAD_INPUT = [
    ({"tls_mode": "bogus"}, "tls_mode"),
    ({"tls_sans": []}, "tls_sans"),
    (
        {"tls_mode": "acme", "tls_acme_directory": f"https://{ADDRESS['ca1']}:1/dir"},
        "tls_acme_directory",
    ),
    ({"tls_ca_dir": "/etc/ssl/e5ops-ca-keyless"}, "tls_ca_dir"),
]


@pytest.mark.parametrize(("extravars", "variable"), BAD_INPUT, ids=[v for _, v in BAD_INPUT])
@pytest.mark.usefixtures("first_run")
def test_bad_input_fails_before_any_change(lab, project, extravars, variable):
    if variable == "tls_ca_dir":
        # A CA whose root certificate is there but whose key is lost.
        on(lab, "ca1", "install", "-D", "-m", "0644", "/etc/ssl/e5ops-ca/root.pem",
           "/etc/ssl/e5ops-ca-keyless/root.pem")  # fmt: skip
    before = files_state(lab, "ca1")
    result = run(project, lab, "tls_role.yml", limit="ca1", extravars=extravars)
    assert not result.ok
    messages = " ".join(f.message for f in result.failures if f.host == "ca1")
    assert variable in messages, result.failures
    assert result.hosts["ca1"].changed == 0
    assert files_state(lab, "ca1") == before


def test_acme_certificate_from_pebble_verifies(first_run, roots, tmp_path):
    der, cert, version = served_certificate("web1", roots["web1"], tmp_path)
    assert ("DNS", "web1.e5ops.test") in cert["subjectAltName"]
    issuer = dict(pair[0] for pair in cert["issuer"])
    assert "Pebble Intermediate" in issuer["commonName"]
    assert version in {"TLSv1.2", "TLSv1.3"}
    record = evidence(first_run)["web1"]
    assert record["mode"] == "acme"
    assert record["fingerprint_sha256"] == colon_sha256(der)


def test_internal_ca_chain_verifies(first_run, roots, tmp_path):
    der, cert, _ = served_certificate("ca1", roots["ca1"], tmp_path)
    issuer = dict(pair[0] for pair in cert["issuer"])
    assert issuer["commonName"] == "e5ops internal CA intermediate"
    record = evidence(first_run)["ca1"]
    assert record["fingerprint_sha256"] == colon_sha256(der)


def test_evidence_describes_each_certificate_and_holds_no_key(first_run):
    records = evidence(first_run)
    assert set(records) == {"web1", "ca1"}
    for host, record in records.items():
        assert record["sans"] == [f"DNS:{host}.e5ops.test"]
        assert record["subject"] == f"commonName={host}.e5ops.test"
        assert record["key_type"] == "ECC"
        assert int(record["key_size"]) == 256
        assert record["not_after"].endswith("Z")
        assert record["issuer"]
    every_event = "".join(
        path.read_text(errors="replace")
        for path in first_run.artifact_dir.rglob("*")
        if path.is_file()
    )
    assert "PRIVATE KEY" not in every_event


@pytest.mark.usefixtures("first_run")
def test_keys_are_root_only(lab):
    for host in ("web1", "ca1"):
        assert (
            on(lab, host, "stat", "-c", "%U:%G %a", f"{LIVE}/{host}/privkey.pem").strip()
            == "root:root 600"
        )
    for key in ("root.key", "intermediate.key"):
        path = f"/etc/ssl/e5ops-ca/private/{key}"
        assert on(lab, "ca1", "stat", "-c", "%U:%G %a", path).strip() == "root:root 600"
    # The CA's keys never left ca1.
    assert "e5ops-ca" not in on(lab, "web1", "sh", "-c", "ls /etc/ssl")


@pytest.mark.usefixtures("first_run")
def test_testssl_rates_ca1_a_plus(lab, project):
    assert shutil.which("testssl"), "testssl.sh 3.2 is missing: run scripts/install-testssl"
    result = run_playbook(
        project=project,
        playbook="playbooks/tls_grade.yml",
        inventory=lab.config.inventory_dir / "hosts.yml",
        extravars={"e5ops_tls_grade_target": "ca1", "e5ops_tls_grade_name": "ca1.e5ops.test"},
    )
    assert result.ok, result.failures
    report = json.loads((project / ".e5ops/tls/testssl-ca1.json").read_text())
    by_id = {finding["id"]: finding for finding in report}
    assert result.published["tls_grade"] == "A+", by_id.get("overall_grade")
    assert result.published["tls_grade_caps"] == []
    assert by_id["cert_chain_of_trust"]["severity"] == "OK"
    assert int(result.published["tls_score"]) >= 90


@pytest.mark.usefixtures("first_run")
def test_a_certificate_not_due_stays_byte_for_byte(lab, project):
    before = {host: files_state(lab, host) for host in ADDRESS}
    result = run(project, lab, "tls_role.yml")
    assert result.ok, result.failures
    assert result.changed == 0
    assert {host: files_state(lab, host) for host in ADDRESS} == before
    assert all(not record["renewed"] for record in evidence(result).values())


@pytest.mark.usefixtures("first_run")
def test_a_certificate_close_to_expiry_is_renewed(lab, project, roots, tmp_path):
    result = run(project, lab, "tls_expire_soon.yml", extravars={"target": "ca1"})
    assert result.ok, result.failures
    short = on(lab, "ca1", "openssl", "x509", "-in", f"{LIVE}/ca1/cert.pem", "-noout", "-enddate")
    short_end = time.mktime(time.strptime(short.strip().split("=", 1)[1], "%b %d %H:%M:%S %Y %Z"))
    assert short_end - time.time() < 6 * 86400
    key_before = on(lab, "ca1", "sha256sum", f"{LIVE}/ca1/privkey.pem")

    renewed = run(project, lab, "tls_role.yml", limit="ca1")
    assert renewed.ok, renewed.failures
    record = evidence(renewed)["ca1"]
    assert record["renewed"] is True
    assert record["renew_reasons"] == ["due"]
    new_end = time.mktime(time.strptime(record["not_after"], "%Y%m%d%H%M%SZ"))
    assert new_end - time.time() > 80 * 86400
    # Same key, new certificate, and nginx serves the new one.
    assert on(lab, "ca1", "sha256sum", f"{LIVE}/ca1/privkey.pem") == key_before
    der, _, _ = served_certificate("ca1", roots["ca1"], tmp_path)
    assert colon_sha256(der) == record["fingerprint_sha256"]
