"""The Markdown side of an evidence record: the same facts as the JSON twin, for people."""

from __future__ import annotations

from typing import Any


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render(record: dict[str, Any]) -> str:
    """Return the Markdown document of ``record``."""
    lines = [
        f"# {record['title']}",
        "",
        f"- evidence: `{record['name']}` (step {record['step']}, attempt {record['attempt']})",
        (
            f"- recorded: {record['created']} by {record['recorder']['user']}"
            f" on {record['recorder']['controller']} ({record['recorder']['path']})"
        ),
        f"- chain: record {record['sequence']}, after "
        + (
            f"`{record['previous']['name']}` (sha256 {record['previous']['sha256']})"
            if record["previous"]
            else "nothing (first record)"
        ),
    ]
    if not record["complete"]:
        lines.append(f"- **INCOMPLETE**: {record['incomplete_reason']}")
    lines.append("")
    if record["subjects"]:
        lines += ["## Subjects", ""]
        lines += _table(
            ["subject", "sha256"],
            [[s["name"], s["digest"]["sha256"]] for s in record["subjects"]],
        )
    body = {
        "run": _run,
        "scope": _scope,
        "gate_review": _review,
        "assessment": _assessment,
        "authorization": _decision,
    }[record["kind"]]
    lines += body(record)
    lines.append("The signed envelope `" + record["name"] + ".dsse.json` covers this file.")
    return "\n".join(lines) + "\n"


def _run(record: dict[str, Any]) -> list[str]:
    run = record["run"]
    lines = [
        "## Run",
        "",
        f"- playbook: `{run['playbook']}`, inventory: `{run['inventory']}`",
        (
            f"- limit: {run['limit'] or 'none'}, tags: {run['tags'] or 'all'},"
            f" check mode: {'yes' if run['check'] else 'no'}"
        ),
        (
            f"- status: **{run['status']}**, rc {run['rc']},"
            f" {run['seconds']:.1f} s ({run['started']} to {run['ended']})"
        ),
        "",
        "## Hosts",
        "",
    ]
    keys = ["ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"]
    lines += _table(
        ["host", *keys], [[host, *(stats[k] for k in keys)] for host, stats in run["hosts"].items()]
    )
    lines += ["## Tasks", ""]
    lines += _table(
        ["host", "task", "status", "seconds", "message"],
        [
            [
                t["host"],
                t["task"],
                t["status"] + (" (ignored)" if t["ignored"] else ""),
                f"{t['seconds']:.2f}",
                t.get("message", ""),
            ]
            for t in run["tasks"]
        ],
    )
    if run["published"]:
        lines += ["## Published values", ""]
        lines += _table(["name", "value"], [[k, v] for k, v in sorted(run["published"].items())])
    return lines


def _scope(record: dict[str, Any]) -> list[str]:
    scope = record["scope"]
    lines = [
        "## Scope",
        "",
        f"- environment: {scope['environment']}",
        f"- inventory: `{scope['inventory']}`",
        f"- scope file: `{scope['source']}`",
        f"- decision: **{scope['verdict']}**",
        "",
    ]
    lines += [f"- problem: {problem}" for problem in scope.get("problems", [])]
    for gate, spec in scope["gates"].items():
        lines += [f"## Gate {gate}: {spec.get('title', '')}", ""]
        lines += _table(
            ["id", "criterion", "check", "parameters", "severity"],
            [
                [c["id"], c["description"], c["check"], c.get("params", {}), c["severity"]]
                for c in spec["criteria"]
            ],
        )
    return lines


def _review(record: dict[str, Any]) -> list[str]:
    review = record["review"]
    lines = [
        "## Gate review",
        "",
        f"- gate {review['gate']} reviews step {review['reviews_step']}",
        f"- verdict: **{review['verdict']}**",
        "- evidence read: " + (", ".join(f"`{e}`" for e in review["evidence"]) or "none"),
        "",
    ]
    lines += _table(
        ["id", "criterion", "verdict", "detail", "waiver"],
        [
            [
                c["id"],
                c["description"],
                c["verdict"],
                c["detail"],
                (
                    f"{c['waiver']['reason']} (by {c['waiver']['approver']},"
                    f" until {c['waiver']['expires']})"
                    if c.get("waiver")
                    else ""
                ),
            ]
            for c in review["criteria"]
        ],
    )
    return lines


def _assessment(record: dict[str, Any]) -> list[str]:
    assessment = record["assessment"]
    lines = ["## Technical assessment", "", f"**{assessment['recommendation']}**", ""]
    lines += [f"- {reason}" for reason in assessment["reasons"]]
    lines.append("")
    lines += _table(
        ["gate", "verdict", "review"],
        [[g, v["verdict"], v["record"] or "missing"] for g, v in assessment["gates"].items()],
    )
    return lines


def _decision(record: dict[str, Any]) -> list[str]:
    decision = record["decision"]
    return [
        "## Authorization decision",
        "",
        f"**{decision['decision']}** by {decision['approver']} at {decision['decided']}",
        "",
        (
            f"- assessment: `{decision['assessment']['record']}`"
            f" ({decision['assessment']['recommendation']})"
        ),
        f"- conditions: {decision['conditions'] or 'none'}",
        "",
    ]
