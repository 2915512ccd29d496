"""The evidence directory: signed records, written once, chained by digest.

Each record is three files with one name: ``NAME.md`` for people, ``NAME.json``
for machines (the twin), and ``NAME.dsse.json``, a DSSE envelope holding an
in-toto Statement v1 whose predicate is the record plus the digests of both
twins. Every record names the digest of the envelope before it, so the records
form a chain; ``chain-head.json`` (a signed statement of the last record) lets
verification notice records removed from the end.

Files are written to a temporary name, synced, and linked into place, which
fails rather than overwrite: a record is never rewritten. A new attempt at a
step is a new record, ``NAME.attempt-N``.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import platform
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from securesystemslib.dsse import Envelope

from e5ops import __version__
from e5ops.errors import EvidenceError
from e5ops.evidence.markdown import render
from e5ops.evidence.schema import validate_record

if TYPE_CHECKING:
    from collections.abc import Iterator

    from securesystemslib.signer import Signer  # type: ignore[attr-defined]  # no __all__ there

    from e5ops.evidence.steps import Step

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://e5ops.invalid/evidence/record/v1"
RECORD_VERSION = 1
ENVELOPE_SUFFIX = ".dsse.json"
HEAD_NAME = "chain-head.json"
HEAD_PREDICATE_TYPE = "https://e5ops.invalid/evidence/chain-head/v1"
DEFAULT_DIR = Path("evidence") / "e5"
DIR_ENV = "E5OPS_EVIDENCE_DIR"


@dataclass(frozen=True)
class Subject:
    """Something a record is about, by digest: an inventory, a playbook, an artifact."""

    name: str
    sha256: str

    def to_statement(self) -> dict[str, Any]:
        """Return the in-toto ResourceDescriptor of this subject."""
        return {"name": self.name, "digest": {"sha256": self.sha256}}


@dataclass(frozen=True)
class StoredRecord:
    """A record as it lies in the evidence directory."""

    name: str
    directory: Path
    record: dict[str, Any]

    @property
    def sequence(self) -> int:
        """Return the record's place in the chain, from 1."""
        return int(self.record["sequence"])

    @property
    def step(self) -> str:
        """Return the key of the step the record belongs to."""
        return str(self.record["step"])

    @property
    def kind(self) -> str:
        """Return what the record holds: scope, run, gate_review, assessment, authorization."""
        return str(self.record["kind"])

    @property
    def envelope(self) -> Path:
        """Return the path of the signed envelope."""
        return self.directory / f"{self.name}{ENVELOPE_SUFFIX}"

    @property
    def files(self) -> tuple[Path, Path, Path]:
        """Return the Markdown, JSON and envelope files of the record."""
        return (
            self.directory / f"{self.name}.md",
            self.directory / f"{self.name}.json",
            self.envelope,
        )


def default_directory(base: Path) -> Path:
    """Return ``E5OPS_EVIDENCE_DIR`` or ``evidence/e5`` under ``base``."""
    explicit = os.environ.get(DIR_ENV)
    return Path(explicit) if explicit else base / DEFAULT_DIR


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_tree(path: Path) -> str:
    """Return one digest for a file, or for a directory's files (names and contents)."""
    if path.is_file():
        return sha256_file(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        relative = item.relative_to(path).as_posix()
        if any(part.startswith(".") for part in relative.split("/")):
            continue
        digest.update(f"{relative}\0{sha256_file(item)}\n".encode())
    return digest.hexdigest()


def subject_for(path: Path, *, kind: str, base: Path) -> Subject:
    """Return the subject for a file or directory, named relative to ``base`` when inside it."""
    try:
        shown = path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        shown = str(path)
    return Subject(name=f"{kind}:{shown}", sha256=sha256_tree(path))


def canonical_json(data: Any) -> bytes:  # noqa: ANN401 - any JSON value
    """Return the compact, key-sorted UTF-8 JSON used for signed payloads."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def pretty_json(data: Any) -> bytes:  # noqa: ANN401 - any JSON value
    """Return the indented, key-sorted JSON written to twins and envelopes."""
    return (json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def now() -> str:
    """Return the current UTC time in ISO 8601 with microseconds."""
    return datetime.now(tz=UTC).isoformat()


def write_once(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file ``path`` atomically: temporary file, fsync, link.

    The link fails if ``path`` exists, so nothing is ever overwritten, and a
    crash leaves either no file or the whole file, never half of one.

    Raises:
        EvidenceError: ``path`` already exists.

    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(0o444)
        try:
            os.link(tmp, path)
        except FileExistsError as exc:
            msg = f"evidence file {path.name} already exists; records are never rewritten"
            raise EvidenceError(msg) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    _fsync_dir(path.parent)


def replace_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically (used for the chain head only)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    Path(tmp).replace(path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_envelope(path: Path) -> tuple[Envelope, dict[str, Any]]:
    """Parse an envelope file and its statement, without verifying the signature.

    Raises:
        ValueError: The file is not a DSSE envelope holding a JSON statement.

    """
    data = json.loads(path.read_bytes())
    envelope = Envelope.from_dict(data)
    statement = json.loads(envelope.payload)
    if not isinstance(statement, dict):
        msg = "the payload is not a statement"
        raise TypeError(msg)
    return envelope, statement


def recorder_identity(path: str) -> dict[str, str]:
    """Describe who recorded: the recording path, versions, user and controller host."""
    try:
        from ansible.release import (  # type: ignore[import-untyped]  # noqa: PLC0415 - only when recording
            __version__ as ansible_version,
        )
    except ImportError:  # pragma: no cover - ansible is a dependency
        ansible_version = "unknown"
    return {
        "path": path,
        "e5ops_version": __version__,
        "ansible_core_version": ansible_version,
        "user": getpass.getuser(),
        "controller": platform.node(),
    }


class EvidenceStore:
    """One evidence directory: read its records, append signed ones."""

    def __init__(self, directory: Path, *, signer: Signer | None = None) -> None:
        """Open the evidence directory ``directory`` (created on first write).

        Args:
            directory: Where the records live, ``evidence/e5`` by default.
            signer: The key that signs new records; reading needs none.

        """
        self.directory = directory
        self.signer = signer

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's lock: one writer at a time appends to the chain."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def records(self) -> list[StoredRecord]:
        """Return every record, in chain order, read from the JSON twins (not verified)."""
        if not self.directory.is_dir():
            return []
        found = []
        for twin in self.directory.glob("*.json"):
            if twin.name.endswith(ENVELOPE_SUFFIX) or twin.name == HEAD_NAME:
                continue
            try:
                record = json.loads(twin.read_bytes())
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and "sequence" in record:
                found.append(StoredRecord(twin.stem, self.directory, record))
        return sorted(found, key=lambda r: r.sequence)

    def attempts(self, step_key: str, stem: str | None = None) -> list[StoredRecord]:
        """Return every attempt at a step, oldest first."""
        return [
            r
            for r in self.records()
            if r.step == step_key and (stem is None or r.record["stem"] == stem)
        ]

    def latest(self, step_key: str) -> StoredRecord | None:
        """Return the latest attempt at a step, or None."""
        attempts = self.attempts(step_key)
        return attempts[-1] if attempts else None

    def write(
        self,
        *,
        step: Step,
        body: dict[str, Any],
        subjects: list[Subject],
        recorder: str,
        complete: bool = True,
        incomplete_reason: str | None = None,
    ) -> StoredRecord:
        """Append a signed record for ``step`` to the chain.

        Args:
            step: The step the record belongs to; it names the files.
            body: What the record holds, under the key of its kind (``run``, ``review``...).
            subjects: What the record is about, by digest.
            recorder: Which path recorded it: ``runner``, ``callback`` or ``cli``.
            complete: False for a run cut short.
            incomplete_reason: Why the run was cut short.

        Raises:
            EvidenceError: No signing key, or the record does not match the schema.

        """
        if self.signer is None:
            msg = "no signing key was given: evidence cannot be written"
            raise EvidenceError(msg, hint="create one with `e5ops evidence init`")
        with self.locked():
            existing = self.records()
            attempt = 1 + sum(1 for r in existing if r.record["stem"] == step.stem)
            name = step.stem if attempt == 1 else f"{step.stem}.attempt-{attempt}"
            previous = existing[-1] if existing else None
            record: dict[str, Any] = {
                "record_version": RECORD_VERSION,
                "name": name,
                "stem": step.stem,
                "step": step.key,
                "title": step.title,
                "kind": step.kind,
                "attempt": attempt,
                "sequence": (previous.sequence + 1) if previous else 1,
                "previous": (
                    {"name": previous.name, "sha256": sha256_file(previous.envelope)}
                    if previous
                    else None
                ),
                "created": now(),
                "complete": complete,
                "incomplete_reason": incomplete_reason,
                "recorder": recorder_identity(recorder),
                "subjects": [s.to_statement() for s in subjects],
                **body,
            }
            validate_record(record)
            return self._write_files(record, subjects)

    def _write_files(self, record: dict[str, Any], subjects: list[Subject]) -> StoredRecord:
        assert self.signer is not None  # noqa: S101 - checked by write()
        name = record["name"]
        markdown = render(record).encode()
        twin = pretty_json(record)
        predicate = {
            **record,
            "twins": {
                f"{name}.md": {"sha256": hashlib.sha256(markdown).hexdigest()},
                f"{name}.json": {"sha256": hashlib.sha256(twin).hexdigest()},
            },
        }
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_statement() for s in subjects]
            or [{"name": f"record:{name}", "digest": {"sha256": hashlib.sha256(twin).hexdigest()}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": predicate,
        }
        envelope = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
        envelope.sign(self.signer)
        stored = StoredRecord(name, self.directory, record)
        md_path, json_path, dsse_path = stored.files
        write_once(md_path, markdown)
        write_once(json_path, twin)
        # The envelope goes last: a record without it is unsigned and verify says so.
        envelope_bytes = pretty_json(envelope.to_dict())
        write_once(dsse_path, envelope_bytes)
        self._write_head(name, record["sequence"], hashlib.sha256(envelope_bytes).hexdigest())
        return stored

    def _write_head(self, name: str, sequence: int, digest: str) -> None:
        assert self.signer is not None  # noqa: S101 - checked by write()
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": f"record:{name}", "digest": {"sha256": digest}}],
            "predicateType": HEAD_PREDICATE_TYPE,
            "predicate": {"name": name, "sequence": sequence, "updated": now()},
        }
        envelope = Envelope(canonical_json(statement), PAYLOAD_TYPE, {})
        envelope.sign(self.signer)
        replace_atomically(self.directory / HEAD_NAME, pretty_json(envelope.to_dict()))
