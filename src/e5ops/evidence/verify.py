"""Verification of an evidence directory: signatures, twins, chain and head.

Every problem names the file it concerns. Verification reads only; it never
repairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError as SignatureError

from e5ops.evidence.store import (
    ENVELOPE_SUFFIX,
    HEAD_NAME,
    HEAD_PREDICATE_TYPE,
    PAYLOAD_TYPE,
    PREDICATE_TYPE,
    STATEMENT_TYPE,
    sha256_file,
)

if TYPE_CHECKING:
    from pathlib import Path

    from securesystemslib.signer import Key  # type: ignore[attr-defined]  # no __all__ there


@dataclass(frozen=True)
class Problem:
    """One reason the evidence does not verify, and the file it concerns."""

    file: str
    message: str

    def __str__(self) -> str:
        """Return ``file: message``."""
        return f"{self.file}: {self.message}"


@dataclass
class VerifyReport:
    """What verification found: the records that verified and every problem."""

    directory: Path
    verified: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the directory verified without a single problem."""
        return not self.problems and bool(self.verified)

    def add(self, file: str, message: str) -> None:
        """Record a problem with ``file``."""
        self.problems.append(Problem(file, message))


@dataclass(frozen=True)
class _Signed:
    name: str
    file: str
    sequence: int
    previous: dict[str, Any] | None
    digest: str


def _check_signature(envelope: Envelope, key: Key, file: str, report: VerifyReport) -> bool:
    keyids = sorted(envelope.signatures)
    if key.keyid not in keyids:
        report.add(
            file, f"signed by another key ({', '.join(keyids) or 'unsigned'}), not {key.keyid}"
        )
        return False
    try:
        envelope.verify([key], 1)
    except SignatureError:
        report.add(file, "the signature does not match: the envelope was changed after signing")
        return False
    return True


def _check_record(path: Path, key: Key, report: VerifyReport) -> _Signed | None:
    file = path.name
    try:
        envelope = Envelope.from_dict(json.loads(path.read_bytes()))
    except (ValueError, TypeError, KeyError) as exc:
        report.add(file, f"not a readable DSSE envelope ({exc})")
        return None
    if not _check_signature(envelope, key, file, report):
        return None
    statement = json.loads(envelope.payload)
    predicate = statement.get("predicate", {})
    if (
        envelope.payload_type != PAYLOAD_TYPE
        or statement.get("_type") != STATEMENT_TYPE
        or statement.get("predicateType") != PREDICATE_TYPE
    ):
        report.add(file, "not an e5ops evidence statement")
        return None
    name = str(predicate.get("name"))
    expected = f"{name}{ENVELOPE_SUFFIX}"
    if file != expected:
        report.add(file, f"holds the record {name!r}: renamed or reordered (expected {expected})")
        return None
    for twin, digest in sorted(predicate.get("twins", {}).items()):
        twin_path = path.parent / twin
        if not twin_path.is_file():
            report.add(twin, f"missing: the signed record {name} names it")
        elif sha256_file(twin_path) != digest["sha256"]:
            report.add(twin, "changed after signing: its sha256 differs from the signed digest")
    return _Signed(
        name=name,
        file=file,
        sequence=int(predicate.get("sequence", 0)),
        previous=predicate.get("previous"),
        digest=sha256_file(path),
    )


def _check_chain(signed: list[_Signed], report: VerifyReport) -> None:
    by_sequence: dict[int, _Signed] = {}
    for claimed in signed:
        if claimed.sequence in by_sequence:
            other = by_sequence[claimed.sequence]
            report.add(
                claimed.file, f"claims place {claimed.sequence} in the chain, as {other.file}"
            )
        by_sequence[claimed.sequence] = claimed
    before: _Signed | None = None
    for sequence in range(1, max(by_sequence, default=0) + 1):
        record = by_sequence.get(sequence)
        if record is None:
            after = next((r for s, r in sorted(by_sequence.items()) if s > sequence), None)
            where = f" (before {after.file})" if after else ""
            report.add(f"record #{sequence}", f"missing from the chain{where}")
            before = None
            continue
        if sequence == 1 and record.previous is not None:
            report.add(record.file, "first in the directory, yet it follows another record")
        if before is not None:
            previous = record.previous or {}
            if previous.get("name") != before.name:
                report.add(
                    record.file,
                    f"out of order: it follows {previous.get('name')!r}, not {before.name!r}",
                )
            elif previous.get("sha256") != before.digest:
                report.add(
                    record.file, f"chain broken: {before.file} is not the envelope it signed"
                )
        before = record


def _check_head(directory: Path, key: Key, signed: list[_Signed], report: VerifyReport) -> None:
    path = directory / HEAD_NAME
    if not path.is_file():
        if signed:
            report.add(HEAD_NAME, "missing: the end of the chain cannot be checked")
        return
    try:
        envelope = Envelope.from_dict(json.loads(path.read_bytes()))
    except (ValueError, TypeError, KeyError) as exc:
        report.add(HEAD_NAME, f"not a readable DSSE envelope ({exc})")
        return
    if not _check_signature(envelope, key, HEAD_NAME, report):
        return
    statement = json.loads(envelope.payload)
    if statement.get("predicateType") != HEAD_PREDICATE_TYPE:
        report.add(HEAD_NAME, "not an e5ops chain head")
        return
    head = statement["predicate"]
    last = max(signed, key=lambda r: r.sequence, default=None)
    if last is None or head["sequence"] > last.sequence:
        report.add(
            f"{head['name']}{ENVELOPE_SUFFIX}",
            f"missing: the chain head names it as record #{head['sequence']}",
        )
    elif head["sequence"] < last.sequence:
        report.add(HEAD_NAME, f"names record #{head['sequence']}, but #{last.sequence} exists")
    elif statement["subject"][0]["digest"]["sha256"] != last.digest:
        report.add(last.file, "is not the envelope the chain head signed")


def verify_directory(directory: Path, *, key: Key) -> VerifyReport:
    """Verify every record in ``directory`` with the public ``key``.

    Checks each envelope's signature and key, that each file carries the name
    it was signed under, each twin's digest, the chain of previous digests
    without gaps, and the signed chain head.

    Returns:
        The report; ``report.ok`` is True only if nothing is wrong.

    """
    report = VerifyReport(directory)
    if not directory.is_dir():
        report.add(str(directory), "no such evidence directory")
        return report
    signed = []
    for path in sorted(directory.glob(f"*{ENVELOPE_SUFFIX}")):
        record = _check_record(path, key, report)
        if record is not None:
            signed.append(record)
            report.verified.append(record.name)
    envelopes = {r.name for r in signed} | {
        p.name.removesuffix(ENVELOPE_SUFFIX) for p in directory.glob(f"*{ENVELOPE_SUFFIX}")
    }
    for twin in sorted([*directory.glob("*.md"), *directory.glob("*.json")]):
        if twin.name.endswith(ENVELOPE_SUFFIX) or twin.name == HEAD_NAME:
            continue
        if twin.stem not in envelopes:
            report.add(twin.name, "has no signed envelope beside it")
    _check_chain(signed, report)
    _check_head(directory, key, signed, report)
    return report
