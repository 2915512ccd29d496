"""``e5ops rollout``: a staged rollout with gates, paused, resumed or aborted."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.table import Table

from e5ops.commands._console import err, out
from e5ops.errors import UsageError
from e5ops.project import find_project_root
from e5ops.rollout import (
    DEFAULT_GROUP,
    DEFAULT_NAME,
    RolloutError,
    RolloutState,
    current_rollout,
    find_release,
    load_state,
    parse_steps,
    request_pause,
    rollback_seconds,
    rollouts_dir,
    start_rollout,
)
from e5ops.runner import default_inventory

if TYPE_CHECKING:
    import argparse


def _show(event: dict[str, Any]) -> None:
    kind = event["kind"]
    if kind == "step_started":
        out.print(f"step {event['step'] + 1}: deploying to {', '.join(event['hosts'])}")
    elif kind == "step_ended":
        verdict = "[green]ok[/]" if event["ok"] else "[red]failed[/]"
        out.print(f"step {event['step'] + 1}: {verdict} ({event['seconds']}s)")
        for failure in event["failures"]:
            err.print(f"  {failure}", highlight=False, soft_wrap=True)
    elif kind == "gates":
        for result in event["results"]:
            verdict = "[green]passed[/]" if result["passed"] else "[red]failed[/]"
            out.print(f"  gate {result['gate']}: {verdict}: {result['detail']}", highlight=False)
    elif kind == "rollback_started":
        err.print(f"[red]rolling back[/] {', '.join(event['hosts'])}: {event['reason']}")
    elif kind == "rollback_ended":
        verdict = "done" if event["ok"] else "[red]FAILED[/]"
        out.print(f"rollback {verdict} in {event['seconds']}s")
    elif kind in {"paused", "resumed", "succeeded", "aborted"}:
        out.print(f"rollout {kind}")


def _summary(state: RolloutState) -> None:
    table = Table("step", "hosts", "state", title=f"rollout {state.id}")
    for index, hosts in enumerate(state.steps):
        done = "done" if index < state.next_step else "pending"
        table.add_row(str(index + 1), ", ".join(hosts), done)
    out.print(table)
    took = rollback_seconds(state)
    extra = f", rollback took {took:.1f}s" if took is not None else ""
    out.print(f"release {state.release['version']}: {state.status}{extra}")


def rollout(args: argparse.Namespace) -> int:
    """Start, resume, pause, abort or show the project's rollout."""
    project = find_project_root()
    if args.status:
        state = load_state(rollouts_dir(project))
        if state is None:
            out.print("no rollout has run in this project")
            return 0
        _summary(state)
        return 0
    if args.pause:
        state = request_pause(project=project)
        out.print(f"rollout {state.id} will pause after its current step")
        return 0
    if args.resume or args.abort:
        current = current_rollout(project=project, observer=_show)
        state = current.abort() if args.abort else current.run()
        _summary(state)
        return 0
    if not args.release:
        msg = "give --release VERSION, or one of --resume, --pause, --abort, --status"
        raise UsageError(msg)
    inventory = Path(args.inventory) if args.inventory else default_inventory(project)
    release = find_release(
        project=project,
        version=args.release,
        name=args.name,
        artifact=Path(args.artifact) if args.artifact else None,
        sha256=args.sha256,
    )
    started = start_rollout(
        project=project,
        inventory=inventory,
        release=release,
        steps=parse_steps(args.steps),
        gates=args.gate or (),
        prometheus=args.prometheus,
        bake_seconds=args.bake,
        group=args.group,
        observer=_show,
    )
    try:
        state = started.run()
    except RolloutError:
        _summary(started.state)
        raise
    _summary(state)
    return 0


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``rollout``."""
    parser = verbs.add_parser(
        "rollout",
        help="staged rollout: a canary, then larger steps, with gates and automatic rollback",
        description="Roll a release out to an inventory group in steps (a canary first), "
        "checking gates after each step's bake time; a failed step or gate rolls every "
        "moved host back. The state is kept under .e5ops/rollouts/, so a paused rollout "
        "resumes in a later invocation.",
    )
    actions = parser.add_mutually_exclusive_group()
    actions.add_argument("--resume", action="store_true", help="resume the paused rollout")
    actions.add_argument("--pause", action="store_true", help="pause after the current step")
    actions.add_argument("--abort", action="store_true", help="roll back and end the rollout")
    actions.add_argument("--status", action="store_true", help="show the last rollout")
    parser.add_argument("--release", help="version to roll out, e.g. 1.2.0")
    parser.add_argument(
        "--steps", default="1,25%,100%", help="cumulative steps (default: 1,25%%,100%%)"
    )
    parser.add_argument(
        "--gate",
        action="append",
        help="http:URL[=STATUS] or 'prom:QUERY < THRESHOLD' (repeatable)",
    )
    parser.add_argument("--prometheus", help="Prometheus server for prom: gates")
    parser.add_argument(
        "--bake", type=float, default=10.0, help="seconds to wait before the gates (default: 10)"
    )
    parser.add_argument(
        "--group", default=DEFAULT_GROUP, help=f"inventory group (default: {DEFAULT_GROUP})"
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"service (default: {DEFAULT_NAME})")
    parser.add_argument("--artifact", help="artifact (default: build/NAME/NAME-VERSION.tar.gz)")
    parser.add_argument("--sha256", help="expected sha256 (default: the .sha256 file beside it)")
    parser.add_argument("-i", "--inventory", help="inventory (default: the lab's)")
    parser.set_defaults(func=rollout)
