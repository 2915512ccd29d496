import pytest

from e5ops.errors import ScopeError
from e5ops.gates.scope import load_scope, load_waivers

GOOD = """\
environment: lab
inventory: inventories/lab
gates:
  01a:
    criteria:
      - id: deploy
        description: Deployment automation functional
        check: playbook_succeeded
        params: {playbook: playbooks/deploy.yml}
        severity: critical
waivers:
  - criterion: deploy
    reason: the release is not built yet
    approver: Ada Lovelace
    expires: 2030-01-31
"""


def write(tmp_path, text):
    path = tmp_path / "scope.yml"
    path.write_text(text)
    return path


def test_the_shipped_scope_covers_every_gate_with_the_plans_criteria():
    scope = load_scope()
    assert sorted(scope.gates) == ["01a", "02a", "03a", "04a"]
    descriptions = [c["description"] for spec in scope.gates.values() for c in spec["criteria"]]
    assert any(d.startswith("HTTPS configuration properly implemented") for d in descriptions)
    assert any(d.startswith("Backup procedures implemented") for d in descriptions)
    assert all(len(spec["criteria"]) >= 5 for spec in scope.gates.values())


def test_a_valid_scope_keeps_dates_as_text(tmp_path):
    scope = load_scope(write(tmp_path, GOOD))
    assert scope.waivers[0]["expires"] == "2030-01-31"


@pytest.mark.parametrize(
    ("old", "new", "line", "words"),
    [
        ("severity: critical", "severity: urgent", 10, "'urgent' is not one of"),
        ("check: playbook_succeeded", "check: vibes_ok", 8, "unknown check 'vibes_ok'"),
        (
            "params: {playbook: playbooks/deploy.yml}",
            "params: {}",
            9,
            "needs the parameter(s) playbook",
        ),
        ("  - criterion: deploy", "  - criterion: deplyo", 12, "names no criterion"),
        ("    expires: 2030-01-31", "    expires: soon", 15, "does not match"),
        ("environment: lab", "environment: [lab", 2, "not valid YAML"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path, old, new, line, words):
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(ScopeError) as caught:
        load_scope(path)
    assert str(caught.value).startswith(f"{path}:{line}:")
    assert words in str(caught.value)


def test_a_duplicate_criterion_id_is_refused(tmp_path):
    doubled = GOOD.replace(
        "waivers:",
        """\
      - id: deploy
        description: again
        check: no_failed_hosts
        severity: minor
waivers:""",
    )
    with pytest.raises(ScopeError, match=r"scope.yml:11: criterion id 'deploy' is used twice"):
        load_scope(write(tmp_path, doubled))


def test_waivers_file(tmp_path):
    path = tmp_path / "waivers.yml"
    path.write_text("- criterion: x\n  reason: r\n  approver: a\n  expires: 2030-01-01\n")
    assert load_waivers(path)[0]["approver"] == "a"
    path.write_text("- criterion: x\n  reason: r\n  expires: 2030-01-01\n")
    with pytest.raises(ScopeError, match=r"waivers.yml:1: 'approver' is a required property"):
        load_waivers(path)
