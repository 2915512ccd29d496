"""The Grafana dashboards the monitoring role ships: well-formed JSON, valid
PromQL (checked by promtool), and every query names a metric we export.

Grafana is not installed here, so nothing renders them; these checks are what
would break first. The lab test (tests/integration/test_monitoring.py) checks
the exporter metrics named here against a live Prometheus.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).parent
ROLES = HERE.parents[2] / "roles"
DASHBOARDS = sorted((ROLES / "monitoring" / "files" / "grafana" / "dashboards").glob("*.json"))
RULES = ROLES / "monitoring" / "files" / "etc" / "prometheus" / "rules" / "e5ops.rules.yml"

# Metrics of the Debian exporters the fleet runs (node_exporter 1.5, HAProxy
# 2.6's built-in exporter, blackbox exporter 0.23) that dashboards and rules use.
EXPORTER_METRICS = {
    "up",
    "node_load1",
    "node_cpu_seconds_total",
    "node_memory_MemAvailable_bytes",
    "node_memory_MemTotal_bytes",
    "node_filesystem_avail_bytes",
    "node_filesystem_size_bytes",
    "node_network_receive_bytes_total",
    "node_network_transmit_bytes_total",
    "node_timex_offset_seconds",
    "node_time_seconds",
    "haproxy_server_status",
    "haproxy_frontend_http_requests_total",
    "haproxy_backend_http_responses_total",
    "haproxy_frontend_current_sessions",
    "haproxy_backend_response_time_average_seconds",
    "haproxy_backend_active_servers",
    "haproxy_process_start_time_seconds",
    "probe_success",
    "probe_duration_seconds",
    "probe_ssl_earliest_cert_expiry",
}

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool"}
KEYWORDS |= {"and", "or", "unless", "offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Return the metric names a PromQL expression selects."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # string literals
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        following = text[match.end() :].lstrip()
        if following.startswith("(") or match.group() in KEYWORDS:
            continue  # a function or an operator
        names.add(match.group())
    return names


def exported_by_our_roles() -> set[str]:
    """Return the e5ops_* metric names the roles that write metrics mention.

    The monitoring role itself only reads them, so it does not count.
    """
    found = set()
    for path in ROLES.rglob("*"):
        if path.is_file() and path.relative_to(ROLES).parts[0] != "monitoring":
            found |= set(re.findall(r"\be5ops_[a-z0-9_]+", path.read_text(errors="ignore")))
    return found


def dashboard_queries(path: Path) -> list[tuple[str, str]]:
    board = json.loads(path.read_text())
    return [
        (panel["title"], target["expr"]) for panel in board["panels"] for target in panel["targets"]
    ]


def rule_queries() -> list[tuple[str, str]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [(rule["alert"], rule["expr"]) for group in groups for rule in group["rules"]]


def test_there_are_dashboards_for_hosts_haproxy_and_e5ops():
    assert [path.stem for path in DASHBOARDS] == ["e5ops", "haproxy", "hosts"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path):
    board = json.loads(path.read_text())
    assert board["uid"].startswith("e5ops-")
    assert board["title"].startswith("e5ops / ")
    assert isinstance(board["schemaVersion"], int)
    assert [v["name"] for v in board["templating"]["list"]][:1] == ["datasource"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)) > 0
    for panel in board["panels"]:
        assert panel["title"]
        assert panel["type"] in {"stat", "timeseries", "table", "gauge"}
        grid = panel["gridPos"]
        assert all(isinstance(grid[k], int) for k in ("x", "y", "w", "h"))
        assert grid["x"] + grid["w"] <= 24
        assert panel["datasource"]["uid"] == "${datasource}"
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)) > 0
        assert all(target["expr"].strip() for target in panel["targets"])


def test_dashboard_uids_are_unique():
    uids = [json.loads(path.read_text())["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_names_a_metric_we_export(path):
    known = EXPORTER_METRICS | exported_by_our_roles()
    for title, expr in dashboard_queries(path):
        names = metric_names(expr)
        assert names, f"{path.name}: {title!r} names no metric"
        assert names <= known, f"{path.name}: {title!r} uses {sorted(names - known)}"


def test_every_rule_names_a_metric_we_export():
    known = EXPORTER_METRICS | exported_by_our_roles()
    for alert, expr in rule_queries():
        names = metric_names(expr)
        assert names, alert
        assert names <= known, f"{alert} uses {sorted(names - known)}"


def test_the_metric_parser_sees_through_functions_and_labels():
    expr = 'sum by (proxy) (rate(haproxy_x_total{code="5xx", a=~"$i"}[5m])) / on(a) b_total'
    assert metric_names(expr) == {"haproxy_x_total", "b_total"}
    assert metric_names("time() - e5ops_y_seconds > 26 * 3600") == {"e5ops_y_seconds"}


def test_every_dashboard_query_is_valid_promql(tmp_path):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: apt-get install prometheus"
    rules = [
        {"record": f"dashboard:{path.stem}:{index}", "expr": expr}
        for path in DASHBOARDS
        for index, (_, expr) in enumerate(dashboard_queries(path))
    ]
    candidate = tmp_path / "dashboards.rules.yml"
    candidate.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run(
        [promtool, "check", "rules", str(candidate)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
