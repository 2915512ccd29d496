"""What the monitoring roles leave on a host: node_exporter behind TLS and a
password, and Prometheus scraping it with the shipped rules loaded."""

import json
from pathlib import Path

import pytest
import yaml

RULES = Path(__file__).resolve().parents[3] / "roles/monitoring/files/etc/prometheus/rules/e5ops.rules.yml"

CA = "/etc/prometheus/tls/scrape-ca.crt"
PASSWORD = "molecule-node-exporter"

# Runs inside the host: fetch a URL, print the status and the body.
FETCH = """
import base64, json, ssl, sys, urllib.error, urllib.request
url, user, password = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(url)
if user:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", "Basic " + token)
context = ssl.create_default_context(cafile="%s")
try:
    with urllib.request.urlopen(request, context=context, timeout=10) as response:
        print(json.dumps({"status": response.status, "body": response.read().decode()}))
except urllib.error.HTTPError as exc:
    print(json.dumps({"status": exc.code, "body": ""}))
""" % CA


def fetch(host, url, user="", password=""):
    result = host.run("python3 -c %s %s %s %s", FETCH, url, user, password)
    assert result.rc == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def address(host):
    return host.ansible("setup", "filter=ansible_default_ipv4")["ansible_facts"][
        "ansible_default_ipv4"
    ]["address"]


@pytest.mark.parametrize(
    "service",
    [
        "prometheus-node-exporter",
        "prometheus",
        "prometheus-alertmanager",
        "prometheus-blackbox-exporter",
    ],
)
def test_service_running_and_enabled(host, service):
    assert host.service(service).is_running
    assert host.service(service).is_enabled


def test_node_exporter_needs_tls_and_the_password(host, address):
    url = f"https://{address}:9100/metrics"
    assert fetch(host, url)["status"] == 401
    assert fetch(host, url, "prometheus", "wrong-password")["status"] == 401
    answer = fetch(host, url, "prometheus", PASSWORD)
    assert answer["status"] == 200
    assert "e5ops_tls_certificate_not_after_seconds" in answer["body"]
    assert host.run(f"python3 -c 'import urllib.request; urllib.request.urlopen(\"http://{address}:9100/\")'").rc != 0


def test_web_config_holds_a_bcrypt_hash_not_the_password(host):
    web = host.file("/etc/prometheus/node-exporter/web.yml")
    assert web.user == "root"
    assert web.group == "prometheus"
    assert web.mode == 0o640
    content = web.content_string
    assert "$2b$" in content
    assert PASSWORD not in content


def test_node_exporter_binds_one_address(host, address):
    args = host.file("/etc/default/prometheus-node-exporter").content_string
    assert f"--web.listen-address={address}:9100" in args
    assert host.socket(f"tcp://{address}:9100").is_listening
    assert not host.socket("tcp://0.0.0.0:9100").is_listening


def test_textfile_directory_and_agent_metric(host):
    directory = host.file("/var/lib/prometheus/node-exporter")
    assert directory.is_directory
    assert directory.mode == 0o755
    metric = host.file("/var/lib/prometheus/node-exporter/e5ops_monitoring_agent.prom")
    assert 'name="node-exporter"' in metric.content_string


def test_prometheus_scrapes_every_target_and_runs_the_rules(host, address):
    targets = []
    for _ in range(30):
        answer = fetch(host, f"http://{address}:9090/api/v1/targets")
        targets = json.loads(answer["body"])["data"]["activeTargets"]
        if targets and all(t["health"] == "up" for t in targets):
            break
        host.run("sleep 1")
    assert {t["labels"]["job"]: t["health"] for t in targets} == {
        "prometheus": "up",
        "alertmanager": "up",
        "blackbox": "up",
        "node": "up",
    }
    rules = json.loads(fetch(host, f"http://{address}:9090/api/v1/rules")["body"])["data"]
    names = {rule["name"] for group in rules["groups"] for rule in group["rules"]}
    shipped = yaml.safe_load(RULES.read_text())
    # The shipped rules, and the one extra rule converge.yml adds.
    assert names == {
        rule.get("alert") or rule["record"] for group in shipped["groups"] for rule in group["rules"]
    } | {"instance:node_load1:max"}


def test_alertmanager_routes_to_both_receivers(host):
    config = host.file("/etc/prometheus/alertmanager.yml").content_string
    assert "receiver: oncall" in config
    assert "receiver: tickets" in config
    assert host.run("amtool check-config /etc/prometheus/alertmanager.yml").rc == 0
