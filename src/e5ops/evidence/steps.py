"""The E5 steps and the names of their evidence files, as the readiness plan gives them."""

from __future__ import annotations

from dataclasses import dataclass

from e5ops.errors import UsageError


@dataclass(frozen=True)
class Step:
    """One step of the E5 pipeline and the evidence file it writes.

    Attributes:
        key: The step's short key: ``00``, ``01``, ``01a`` ... ``06``.
        stem: The evidence file's name without suffix, as auditors look for it.
        title: The step's title for people.
        kind: What the record holds: ``scope``, ``run``, ``gate_review``,
            ``assessment`` or ``authorization``.

    """

    key: str
    stem: str
    title: str
    kind: str


STEPS: tuple[Step, ...] = (
    Step("00", "00_e5_scope_definition", "E5 scope definition", "scope"),
    Step("01", "01_production_deployment_automation", "Production deployment automation", "run"),
    Step(
        "01a",
        "01a_production_deployment_gate_review",
        "Production deployment gate review",
        "gate_review",
    ),
    Step("02", "02_operations_infrastructure", "Operations infrastructure", "run"),
    Step(
        "02a",
        "02a_operations_infrastructure_gate_review",
        "Operations infrastructure gate review",
        "gate_review",
    ),
    Step("03", "03_production_environment_setup", "Production environment setup", "run"),
    Step(
        "03a",
        "03a_production_environment_gate_review",
        "Production environment gate review",
        "gate_review",
    ),
    Step("04", "04_e5_integration_validation", "E5 integration validation", "run"),
    Step("04a", "04a_integration_gate_review", "Integration gate review", "gate_review"),
    Step("05", "05_e5_technical_assessment", "E5 technical assessment", "assessment"),
    Step("06", "06_e5_authorization_decision", "E5 authorization decision", "authorization"),
)

#: The gates that review a run step: gate key -> the step whose runs it reviews.
GATES: dict[str, str] = {"01a": "01", "02a": "02", "03a": "03", "04a": "04"}

#: Records of runs outside the E5 steps (``e5ops run`` without ``--step``).
ADHOC_KEY = "run"


def step(key: str) -> Step:
    """Return the step named by ``key`` (``1``, ``01``, ``01a`` or the full stem).

    Raises:
        UsageError: No step has that key.

    """
    wanted = key.strip().lower()
    if wanted.isdigit():
        wanted = f"{int(wanted):02d}"
    for candidate in STEPS:
        if wanted in {candidate.key, candidate.stem}:
            return candidate
    msg = f"no E5 step is called {key!r}"
    raise UsageError(msg, hint="steps: " + ", ".join(s.key for s in STEPS))


def adhoc_step(playbook: str) -> Step:
    """Return the pseudo-step that records a run outside the E5 steps."""
    name = playbook.rsplit("/", 1)[-1].removesuffix(".yml").removesuffix(".yaml")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "playbook"
    return Step(ADHOC_KEY, f"run_{safe}", f"Run of {playbook}", "run")
