"""The E5 report: one self-contained HTML page built from the evidence directory.

No external assets: styles are inline and there are no scripts, so the page
reads the same offline, attached to a ticket or opened from a USB stick. It
holds a gate dashboard (a colour and a verdict per criterion), a timeline of
the records, per-host tables of the latest run of each step, and links to
every evidence file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from e5ops import __version__
from e5ops.evidence.steps import GATES, STEPS
from e5ops.evidence.store import EvidenceStore, StoredRecord, write_once

if TYPE_CHECKING:
    from pathlib import Path

    from e5ops.evidence.verify import VerifyReport

#: Verdict colours: the dashboard's meaning is carried by them (and by the words).
COLOURS = {
    "PASSED": "#1a7f37",
    "PASS": "#1a7f37",
    "PROCEED": "#1a7f37",
    "AUTHORIZE": "#1a7f37",
    "successful": "#1a7f37",
    "WARNED": "#bf8700",
    "CONDITIONAL": "#bf8700",
    "FAILED": "#cf222e",
    "FAIL": "#cf222e",
    "DENY": "#cf222e",
    "failed": "#cf222e",
    "INCOMPLETE": "#cf222e",
    "MISSING": "#6e7781",
}

_STYLE = """
body { font: 15px/1.45 "DejaVu Sans", Arial, sans-serif; margin: 24px; color: #1f2328; }
h1 { margin: 0 0 4px; } h2 { margin-top: 32px; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; }
.banner { padding: 10px 14px; color: #fff; font-weight: bold; margin: 12px 0; }
.gates { display: flex; flex-wrap: wrap; gap: 14px; }
.gate { border: 1px solid #d0d7de; width: 560px; }
.gate h3 { margin: 0; padding: 10px 12px; color: #fff; font-size: 17px; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: left; vertical-align: top; }
td small { overflow-wrap: anywhere; }
th { background: #f6f8fa; }
td.verdict { color: #fff; font-weight: bold; width: 90px; text-align: center; }
.decision { font-size: 20px; padding: 14px; color: #fff; }
a { color: #0969da; }
"""


@dataclass
class ReportData:
    """What the report shows, gathered from the evidence directory."""

    directory: Path
    records: list[StoredRecord]
    verification: VerifyReport | None = None
    generated: str = field(default_factory=lambda: datetime.now(tz=UTC).isoformat())

    def latest(self, step_key: str) -> StoredRecord | None:
        """Return the latest record of a step."""
        found = [r for r in self.records if r.step == step_key]
        return found[-1] if found else None


def gather(store: EvidenceStore, verification: VerifyReport | None = None) -> ReportData:
    """Collect the records of ``store`` for the report."""
    return ReportData(store.directory, store.records(), verification)


def _badge(verdict: str) -> str:
    colour = COLOURS.get(verdict, "#6e7781")
    return f'<td class="verdict" style="background:{colour}">{escape(verdict)}</td>'


def _link(name: str, suffix: str) -> str:
    return f'<a href="{escape(name + suffix)}">{escape(suffix.lstrip("."))}</a>'


def _links(name: str) -> str:
    return " ".join(_link(name, s) for s in (".md", ".json", ".dsse.json"))


def _outcome(record: dict[str, Any]) -> str:
    if not record["complete"]:
        return "INCOMPLETE"
    for key, item in (
        ("run", "status"),
        ("scope", "verdict"),
        ("review", "verdict"),
        ("assessment", "recommendation"),
        ("decision", "decision"),
    ):
        if key in record:
            return str(record[key][item])
    return ""


def _banner(data: ReportData) -> str:
    if data.verification is None:
        return (
            '<div class="banner" style="background:#6e7781">Not verified: no public key given</div>'
        )
    if data.verification.ok:
        count = len(data.verification.verified)
        return (
            f'<div class="banner" style="background:{COLOURS["PASS"]}">'
            f"Verified: {count} signed records, chain intact</div>"
        )
    problems = "".join(f"<li>{escape(str(p))}</li>" for p in data.verification.problems)
    return (
        f'<div class="banner" style="background:{COLOURS["FAIL"]}">'
        f"The evidence does NOT verify<ul>{problems}</ul></div>"
    )


def _gate_card(data: ReportData, gate: str) -> str:
    title = next(s.title for s in STEPS if s.key == gate)
    stored = data.latest(gate)
    if stored is None:
        colour = COLOURS["MISSING"]
        return (
            f'<div class="gate"><h3 style="background:{colour}">{escape(gate)} {escape(title)}:'
            " NOT REVIEWED</h3><p>&nbsp;No review recorded.</p></div>"
        )
    review = stored.record["review"]
    rows = "".join(
        f"<tr><td>{escape(c['id'])}</td>{_badge(c['verdict'])}<td>{escape(c['description'])}"
        f"<br><small>{escape(c['detail'])}"
        + (
            escape(f" — waived by {c['waiver']['approver']} until {c['waiver']['expires']}")
            if c.get("waiver")
            else ""
        )
        + "</small></td></tr>"
        for c in review["criteria"]
    )
    colour = COLOURS.get(review["verdict"], "#6e7781")
    return (
        f'<div class="gate"><h3 style="background:{colour}">{escape(gate)} {escape(title)}:'
        f" {escape(review['verdict'])}</h3><table><tr><th>criterion</th><th>verdict</th>"
        f"<th>measured</th></tr>{rows}</table><p>&nbsp;{_links(stored.name)}</p></div>"
    )


def _decision(data: ReportData) -> str:
    parts = []
    for key in ("05", "06"):
        stored = data.latest(key)
        if stored is None:
            continue
        verdict = _outcome(stored.record)
        colour = COLOURS.get(verdict, "#6e7781")
        text = f"{stored.record['title']}: {verdict}"
        if key == "06":
            decision = stored.record["decision"]
            text += f" by {decision['approver']} at {decision['decided'][:19]}"
            if decision["conditions"]:
                text += f" (conditions: {decision['conditions']})"
        parts.append(f'<div class="decision" style="background:{colour}">{escape(text)}</div>')
        if key == "05":
            reasons = "".join(
                f"<li>{escape(r)}</li>" for r in stored.record["assessment"]["reasons"]
            )
            parts.append(f"<ul>{reasons}</ul>")
    return "".join(parts) or "<p>No assessment recorded yet.</p>"


def _timeline(data: ReportData) -> str:
    rows = "".join(
        f"<tr><td>{r.sequence}</td><td>{escape(r.record['created'][:19])}</td>"
        f"<td>{escape(r.name)}</td><td>{escape(r.record['title'])}</td>"
        f"{_badge(_outcome(r.record))}<td>{_links(r.name)}</td></tr>"
        for r in data.records
    )
    return (
        "<table><tr><th>#</th><th>recorded (UTC)</th><th>record</th><th>step</th>"
        f"<th>outcome</th><th>files</th></tr>{rows}</table>"
    )


def _hosts(data: ReportData) -> str:
    runs: dict[str, StoredRecord] = {}
    for stored in data.records:
        if stored.kind == "run":
            runs[stored.record["stem"]] = stored
    parts = []
    keys = ["ok", "changed", "failures", "unreachable", "skipped", "rescued", "ignored"]
    for stored in runs.values():
        run = stored.record["run"]
        rows = "".join(
            f"<tr><td>{escape(host)}</td>" + "".join(f"<td>{stats[k]}</td>" for k in keys) + "</tr>"
            for host, stats in run["hosts"].items()
        )
        header = "".join(f"<th>{k}</th>" for k in keys)
        parts.append(
            f"<h3>{escape(stored.record['title'])} — {escape(run['playbook'])}"
            f" ({escape(stored.name)}, {escape(run['status'])}, {run['seconds']:.1f} s)</h3>"
            f"<table><tr><th>host</th>{header}</tr>{rows}</table>"
        )
    return "".join(parts) or "<p>No runs recorded yet.</p>"


def render_html(data: ReportData) -> str:
    """Return the report page for ``data``."""
    scope = data.latest("00")
    environment = escape(scope.record["scope"]["environment"]) if scope else "scope not recorded"
    gates = "".join(_gate_card(data, gate) for gate in GATES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>E5 readiness report: {environment}</title>
<style>{_STYLE}</style></head><body>
<h1>E5 readiness report</h1>
<p class="meta">environment: {environment} · evidence: {escape(str(data.directory))}
 · {len(data.records)} records
 · generated {escape(data.generated[:19])} UTC by e5ops {__version__}</p>
{_banner(data)}
<h2>Decision</h2>{_decision(data)}
<h2>Gates</h2><div class="gates">{gates}</div>
<h2>Timeline</h2>{_timeline(data)}
<h2>Hosts</h2>{_hosts(data)}
</body></html>
"""


def write_report(data: ReportData, output: Path) -> Path:
    """Write the report page to ``output`` (a new file; an old report is replaced)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    write_once(output, render_html(data).encode())
    return output
