"""Where evidence goes and with which key: the settings both recording paths share."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from e5ops.errors import EvidenceError
from e5ops.evidence.keys import default_private_key, load_signer
from e5ops.evidence.recorder import RunRecorder, recover_stale
from e5ops.evidence.redact import DEFAULT_KEY_PATTERN, Redactor
from e5ops.evidence.steps import adhoc_step, step
from e5ops.evidence.store import EvidenceStore, Subject, default_directory, subject_for

if TYPE_CHECKING:
    from collections.abc import Iterable

log = logging.getLogger(__name__)

PATTERN_ENV = "E5OPS_REDACT_PATTERN"
ARTIFACTS_ENV = "E5OPS_EVIDENCE_ARTIFACTS"
STEP_ENV = "E5OPS_EVIDENCE_STEP"


@dataclass(frozen=True)
class EvidenceConfig:
    """Where records go, which key signs them, what is redacted.

    Attributes:
        base: The project root; names in records are relative to it.
        directory: The evidence directory.
        key: The private signing key.
        key_pattern: Keys whose values are redacted.
        secrets: Values redacted wherever they occur.

    """

    base: Path
    directory: Path
    key: Path
    key_pattern: str = DEFAULT_KEY_PATTERN
    secrets: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def for_project(cls, base: Path, *, directory: Path | None = None) -> EvidenceConfig:
        """Return the settings for a project, from the environment or the defaults."""
        return cls(
            base=base,
            directory=directory or default_directory(base),
            key=default_private_key(base),
            key_pattern=os.environ.get(PATTERN_ENV, DEFAULT_KEY_PATTERN),
        )

    def store(self) -> EvidenceStore:
        """Open the evidence directory with the signing key loaded.

        Raises:
            EvidenceError: The key is missing or cannot be loaded.

        """
        return EvidenceStore(self.directory, signer=load_signer(self.key))

    def redactor(self) -> Redactor:
        """Return a redactor with this configuration's pattern and known secrets."""
        redactor = Redactor(key_pattern=self.key_pattern)
        for secret in self.secrets:
            redactor.add_secret(secret)
        return redactor


def run_subjects(
    *, base: Path, playbook: Path, inventory: Iterable[Path], artifacts: Iterable[Path] = ()
) -> list[Subject]:
    """Return the subjects of a run: the inventory, the playbook and any release artifact."""
    subjects = [
        subject_for(path, kind="inventory", base=base) for path in inventory if path.exists()
    ]
    subjects.append(subject_for(playbook, kind="playbook", base=base))
    extra = [Path(p) for p in os.environ.get(ARTIFACTS_ENV, "").split(os.pathsep) if p]
    for artifact in [*artifacts, *extra]:
        if not artifact.is_file():
            msg = f"release artifact {artifact} does not exist"
            raise EvidenceError(msg, hint=f"check the artifacts given or {ARTIFACTS_ENV}")
        subjects.append(subject_for(artifact, kind="artifact", base=base))
    return subjects


def relative(path: Path, base: Path) -> str:
    """Return ``path`` relative to ``base`` when inside it, else as given."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return str(path)


def start_run(
    config: EvidenceConfig,
    *,
    playbook: Path,
    inventory: list[Path],
    limit: str | None,
    tags: str | None,
    check: bool,
    recorder: str,
    step_key: str | None = None,
    artifacts: Iterable[Path] = (),
    record: bool = True,
    redactor: Redactor | None = None,
) -> RunRecorder:
    """Begin recording a run; with ``record`` False only the in-memory result is kept.

    Raises:
        EvidenceError: Recording was asked for and the key cannot be loaded.

    """
    key = step_key or os.environ.get(STEP_ENV)
    playbook_name = relative(playbook, config.base)
    the_step = step(key) if key else adhoc_step(playbook_name)
    if key and the_step.kind != "run":
        msg = f"step {the_step.key} ({the_step.title}) is not a step that runs playbooks"
        raise EvidenceError(msg, hint="runs belong to steps 01, 02, 03 or 04")
    store = None
    if record:
        store = config.store()
        recover_stale(store)
    return RunRecorder(
        step=the_step,
        playbook=playbook_name,
        inventory=",".join(relative(p, config.base) for p in inventory) or None,
        limit=limit,
        tags=tags,
        check=check,
        recorder=recorder,
        subjects=run_subjects(
            base=config.base, playbook=playbook, inventory=inventory, artifacts=artifacts
        ),
        store=store,
        redactor=redactor or config.redactor(),
    )
