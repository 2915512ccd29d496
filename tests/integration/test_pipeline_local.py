"""The pipeline's orchestration, on the controller alone: every stage, resume, --from.

Real ansible-runner runs of a local stand-in playbook take the place of the
lab's playbooks (tests/integration/test_pipeline.py runs the real ones on the
lab); the evidence, the gates and the decision are the real ones.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from e5ops.errors import ScopeError, UsageError
from e5ops.evidence.keys import create_key, public_key
from e5ops.evidence.steps import STEPS
from e5ops.evidence.store import EvidenceStore
from e5ops.evidence.verify import verify_directory
from e5ops.pipeline import STAGES, Decision, Pipeline, Reporter, Run, StepPlan

PLAYBOOK = "tests/integration/playbooks/pipeline_local.yml"
GROUPS = ("webservers", "loadbalancers", "monitoring_servers", "backup_servers")


def scope_text(playbook: str = PLAYBOOK) -> str:
    gates = ""
    for gate in ("01a", "02a", "03a", "04a"):
        gates += textwrap.dedent(f"""\
          {gate}:
            title: Gate {gate}
            criteria:
              - id: ran-{gate}
                description: the step's playbook succeeded
                check: playbook_succeeded
                params: {{playbook: {playbook}}}
                severity: critical
              - id: published-{gate}
                description: the step published its value
                check: published_true
                params: {{metric: pipeline_local_ok}}
                severity: major
        """).replace("\n", "\n  ")
    return f"---\nenvironment: test\ninventory: local\ngates:\n  {gates}\nwaivers: []\n"


class Collect(Reporter):
    def __init__(self) -> None:
        self.stages: list[tuple[str, str]] = []
        self.runs: list[str] = []

    def stage(self, key: str, title: str, state: str) -> None:  # noqa: ARG002
        self.stages.append((key, state))

    def action(self, step, what, result, seconds) -> None:  # noqa: ARG002
        self.runs.append(step)


@pytest.fixture
def setup(project, tmp_path, monkeypatch):
    keys = create_key(private=tmp_path / "keys" / "evidence.key")
    monkeypatch.setenv("E5OPS_EVIDENCE_KEY", str(keys.private))
    inventory = tmp_path / "hosts.yml"
    children = "".join(
        f"    {g}:\n      hosts:\n        controller{i}:\n" for i, g in enumerate(GROUPS)
    )
    inventory.write_text(f"---\nall:\n  children:\n{children}", encoding="utf-8")
    scope = tmp_path / "scope.yml"
    scope.write_text(scope_text(), encoding="utf-8")
    flag = tmp_path / "fail-step"
    plan = tuple(
        StepPlan(
            key,
            f"stand-in {key}",
            ("webservers",),
            (Run(PLAYBOOK, "the stand-in", extravars={"pipeline_fail_flag": str(flag)}),),
        )
        for key in ("01", "02", "03", "04")
    )

    def make(**kwargs) -> tuple[Pipeline, Collect]:
        reporter = Collect()
        options = {
            "project": project,
            "inventory": inventory,
            "scope_path": scope,
            "evidence_dir": tmp_path / "e5",
            "plan": plan,
            "decision": Decision("Ada Lovelace", "authorize"),
            "reporter": reporter,
        } | kwargs
        return Pipeline(**options), reporter

    return {
        "make": make,
        "flag": flag,
        "dir": tmp_path / "e5",
        "keys": keys,
        "scope": scope,
        "inventory": inventory,
    }


def test_every_stage_runs_to_a_signed_decision_then_nothing_is_left(setup):
    pipeline, reporter = setup["make"]()
    result = pipeline.run()
    assert result.status == "decided", result.reason
    assert result.verdicts == {
        "00": "PASS",
        "01a": "PASS",
        "02a": "PASS",
        "03a": "PASS",
        "04a": "PASS",
        "05": "PROCEED",
        "06": "AUTHORIZE",
    }
    names = {p.name for p in setup["dir"].glob("*.dsse.json")}
    for step in STEPS:
        assert f"{step.stem}.dsse.json" in names, step.stem
    report = verify_directory(setup["dir"], key=public_key(setup["keys"].public))
    assert report.ok, report.problems
    assert result.report is not None
    assert result.report.is_file()
    assert reporter.runs == ["01", "02", "03", "04"]

    again, reporter = setup["make"]()
    second = again.run()
    assert second.status == "decided"
    assert reporter.runs == []
    assert second.skipped == list(STAGES)


def test_a_failed_step_stops_the_pipeline_and_the_next_run_resumes_there(setup):
    setup["flag"].write_text("fail")
    first, _ = setup["make"]()
    # Fail at step 01 only: the flag is removed once step 01 failed.
    result = first.run()
    assert result.status == "step_failed"
    assert result.stage == "01"
    assert "pipeline_local.yml failed" in result.reason
    assert "asks this step to fail" in result.reason
    store = EvidenceStore(setup["dir"])
    assert [r.step for r in store.records()] == ["00", "01"]
    assert store.records()[-1].record["run"]["status"] == "failed"

    setup["flag"].unlink()
    resumed, reporter = setup["make"]()
    result = resumed.run()
    assert result.status == "decided", result.reason
    assert result.skipped == ["00"]
    assert reporter.runs == ["01", "02", "03", "04"]
    # The gate reviewed the new attempt, not the failed one.
    review = EvidenceStore(setup["dir"]).latest("01a")
    assert review.record["review"]["verdict"] == "PASS"


def test_from_runs_a_stage_again_and_every_one_after_it(setup):
    setup["make"]()[0].run()
    again, reporter = setup["make"]()
    result = again.run(from_stage="03")
    assert result.status == "decided"
    assert result.skipped == ["00", "01", "02"]
    assert reporter.runs == ["03", "04"]
    assert [s for s, _ in reporter.stages if s in {"05", "06"}] == ["05", "06"]


def test_a_changed_scope_starts_again_from_the_scope(setup):
    setup["make"]()[0].run()
    setup["scope"].write_text(scope_text() + "# a reviewed change\n", encoding="utf-8")
    again, reporter = setup["make"]()
    result = again.run()
    assert result.skipped == []
    assert reporter.runs == ["01", "02", "03", "04"]


def test_without_a_decision_it_stops_after_the_assessment(setup):
    pipeline, _ = setup["make"](decision=Decision())
    result = pipeline.run()
    assert result.status == "awaiting_decision"
    assert "--approver" in result.reason
    assert EvidenceStore(setup["dir"]).latest("05") is not None
    assert EvidenceStore(setup["dir"]).latest("06") is None


def test_a_criterion_bound_to_a_playbook_no_step_runs_is_refused_with_its_line(setup):
    setup["scope"].write_text(scope_text("playbooks/nowhere.yml"), encoding="utf-8")
    pipeline, reporter = setup["make"]()
    with pytest.raises(ScopeError) as caught:
        pipeline.run()
    message = str(caught.value)
    lines = setup["scope"].read_text().splitlines()
    where = message.split(":")[:2]
    assert where[0] == str(setup["scope"])
    assert "ran-01a" in lines[int(where[1]) - 1]
    assert "playbooks/nowhere.yml" in message
    assert "step 01 runs" in message
    assert not setup["dir"].exists() or not list(setup["dir"].iterdir())
    assert reporter.runs == []


def test_a_scope_with_an_unknown_check_is_refused_with_its_line(setup):
    text = scope_text().replace("check: published_true", "check: published_maybe", 1)
    setup["scope"].write_text(text, encoding="utf-8")
    with pytest.raises(ScopeError, match=r"scope.yml:\d+: unknown check 'published_maybe'"):
        setup["make"]()[0].run()
    assert not setup["dir"].exists() or not list(setup["dir"].iterdir())


def test_an_inventory_without_a_needed_group_is_refused_before_any_run(setup):
    inventory: Path = setup["inventory"]
    inventory.write_text(
        "---\nall:\n  children:\n    loadbalancers:\n      hosts:\n        lb:\n", encoding="utf-8"
    )
    pipeline, reporter = setup["make"]()
    with pytest.raises(UsageError) as caught:
        pipeline.run()
    message = str(caught.value)
    assert message.startswith(f"{inventory}:3: the inventory has no host in group 'webservers'")
    assert "step 01 needs" in message
    assert reporter.runs == []
    assert [r.step for r in EvidenceStore(setup["dir"]).records()] == []


def test_the_command_refuses_a_scope_that_does_not_fit_its_steps(setup, project):
    # The command runs the shipped plan, whose steps run the lab's playbooks, not
    # this scope's stand-in: refused with exit 2, the file and the line.
    done = subprocess.run(
        [str(Path(sys.executable).parent / "e5ops"), "pipeline", "-i", str(setup["inventory"]),
         "--scope", str(setup["scope"]), "--evidence-dir", str(setup["dir"]),
         "--approver", "Ada Lovelace", "--decision", "authorize"],
        cwd=project, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{setup['scope']}:" in done.stderr
    assert "which step 01 does not run" in done.stderr
    assert not setup["dir"].exists()


def test_the_shipped_scope_fits_the_shipped_steps(project):
    scope = Pipeline(project=project, inventory=project / "inventories" / "lab").load_scope()
    assert set(scope.gates) == {"01a", "02a", "03a", "04a"}
