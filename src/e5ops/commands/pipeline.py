"""``e5ops pipeline``: every E5 step, from the scope to the signed decision, resumable."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.prompt import Prompt
from rich.table import Table

from e5ops.commands._console import err, out
from e5ops.commands._evidence import VERDICT_EXIT, styled
from e5ops.evidence.steps import GATES
from e5ops.evidence.store import EvidenceStore
from e5ops.gates.review import DECISIONS
from e5ops.lab import DEFAULT_HOSTS, Lab, LabConfig
from e5ops.pipeline import STAGES, Decision, Pipeline, PipelineResult, Reporter, default_plan
from e5ops.project import find_project_root

if TYPE_CHECKING:
    import argparse

    from e5ops.evidence.store import StoredRecord
    from e5ops.runner import RunResult

#: Exit codes of a pipeline that stopped before its decision.
EXIT_STEP_FAILED = 5
EXIT_AWAITING = 12


class _Console(Reporter):
    def stage(self, key: str, title: str, state: str) -> None:
        out.print(f"[bold]{key}[/] {title}: {styled(state)}", highlight=False)

    def action(self, step: str, what: str, result: RunResult | None, seconds: float) -> None:
        if result is None:
            out.print(f"   {step} {what} ({seconds:.0f}s)", highlight=False)
            return
        mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
        check = " --check" if "check" in what else ""
        out.print(
            f"   {step} {result.playbook}{check}: {mark} changed={result.changed}"
            f" ({seconds:.0f}s) - {what}",
            highlight=False,
        )

    def note(self, text: str) -> None:
        out.print(f"   {text}", highlight=False, soft_wrap=True)


def _ask(assessment: StoredRecord) -> Decision:
    recommendation = assessment.record["assessment"]["recommendation"]
    out.print(f"technical assessment {assessment.name}: {styled(recommendation)}")
    for reason in assessment.record["assessment"]["reasons"]:
        out.print(f"- {reason}", highlight=False)
    approver = Prompt.ask("approver (your name)").strip()
    decision = Prompt.ask("decision", choices=sorted(DECISIONS))
    conditions = Prompt.ask("conditions") if decision == "conditional" else None
    return Decision(approver=approver, decision=decision, conditions=conditions)


def _criteria(store: EvidenceStore) -> None:
    table = Table("gate", "criterion", "verdict", "measured", title="what the decision rests on")
    for gate in GATES:
        review = store.latest(gate)
        if review is None:
            continue
        for criterion in review.record["review"]["criteria"]:
            table.add_row(gate, criterion["id"], styled(criterion["verdict"]), criterion["detail"])
    if table.row_count:
        out.print(table)


def _summary(result: PipelineResult, project: Path, key: Path, store: EvidenceStore) -> None:
    out.print()
    _criteria(store)
    for stage, verdict in result.verdicts.items():
        out.print(f"  {stage}: {styled(verdict)}", highlight=False)
    if result.decision is not None:
        decision = result.decision.record["decision"]
        out.print(
            f"decision: {styled(decision['decision'])} by {decision['approver']}"
            f" ({result.decision.envelope})",
            highlight=False,
        )
    elif result.reason:
        err.print(f"[red]stopped at {result.stage}[/]: {result.reason}", soft_wrap=True)
    if result.report is not None:
        out.print(f"report: {result.report}", highlight=False)
    if result.screenshot is not None:
        out.print(f"report as rendered by headless Chromium: {result.screenshot}", highlight=False)
    try:
        shown_key = key.relative_to(project)
    except ValueError:
        shown_key = key
    evidence = result.report.parent if result.report else Path("evidence/e5")
    with contextlib.suppress(ValueError):
        evidence = evidence.relative_to(project)
    out.print(
        f"verify the evidence: .venv/bin/e5ops evidence verify {evidence} --key {shown_key}",
        highlight=False,
    )
    out.print(f"wall time: {result.seconds:.0f}s", highlight=False)


def pipeline(args: argparse.Namespace) -> int:
    """Run the pipeline and print the decision, the report and how to verify."""
    project = find_project_root()
    lab = None
    if args.inventory:
        inventory = Path(args.inventory)
    else:
        lab = Lab(LabConfig.from_env(project, name=args.lab))
        inventory = lab.config.inventory_dir
    interactive = sys.stdin.isatty() and not args.decision
    runner = Pipeline(
        project=project,
        inventory=inventory,
        scope_path=Path(args.scope) if args.scope else None,
        evidence_dir=Path(args.evidence_dir) if args.evidence_dir else None,
        lab=lab,
        lab_hosts=DEFAULT_HOSTS,
        plan=default_plan(scale_host=args.scale_host),
        decision=Decision(args.approver, args.decision, args.conditions),
        ask=_ask if interactive else None,
        reporter=_Console(),
    )
    result = runner.run(from_stage=args.from_stage)
    _summary(
        result,
        project,
        runner.config.key.with_suffix(".pub"),
        EvidenceStore(runner.config.directory),
    )
    if result.status == "decided" and result.decision is not None:
        return VERDICT_EXIT[result.decision.record["decision"]["decision"]]
    if result.status == "awaiting_decision":
        return EXIT_AWAITING
    if result.status == "gate_failed":
        return VERDICT_EXIT["FAIL"]
    return EXIT_STEP_FAILED


def _stage(text: str) -> str:
    key = text.strip().lower().removesuffix("a")
    if key.isdigit():
        key = f"{int(key):02d}"
    return key


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pipeline``."""
    parser = verbs.add_parser(
        "pipeline",
        help="run every E5 step on the lab (or -i INVENTORY) up to a signed decision",
        description="Runs the E5 steps in order: 00 scope; 01-04 each step's playbooks "
        "then its gate review; 05 the technical assessment; 06 the authorization "
        "decision. It resumes at the first step without a passing record; --from runs "
        "a step again, and every step after it. Without -i it brings the lab up. "
        "Exit codes: 0 AUTHORIZE, 10 CONDITIONAL, 11 DENY or a failed gate, "
        "2 wrong usage (nothing touched), 5 a playbook failed, 12 waiting for a decision.",
    )
    parser.add_argument("-i", "--inventory", help="inventory (default: the lab, brought up)")
    parser.add_argument("--lab", help="the lab to use without -i (default: $E5OPS_LAB or e5lab)")
    parser.add_argument("--scope", help="scope file (default: scope.yml or the shipped one)")
    parser.add_argument(
        "--from",
        dest="from_stage",
        type=_stage,
        choices=STAGES,
        help="run this stage again, and every one after it",
    )
    parser.add_argument("--approver", help="who decides at step 06, by name (no prompt)")
    parser.add_argument("--decision", choices=sorted(DECISIONS), help="the decision at step 06")
    parser.add_argument("--conditions", help="the conditions of a conditional decision")
    parser.add_argument(
        "--scale-host", default="web4", help="the web host added in step 03 (default: web4)"
    )
    parser.add_argument("--evidence-dir", help="where to record (default: evidence/e5)")
    parser.set_defaults(func=pipeline)
