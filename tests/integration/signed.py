"""An evidence directory and signing key of a test module's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from e5ops.evidence import EvidenceStore
from e5ops.evidence.keys import KeyPair, public_key
from e5ops.evidence.verify import verify_directory

if TYPE_CHECKING:
    from pathlib import Path


@dataclass(frozen=True)
class SignedEvidence:
    """Where a module's runs record, and the key that signs them."""

    directory: Path
    keys: KeyPair

    def records(self) -> list[dict]:
        """Every record, oldest first."""
        return [stored.record for stored in EvidenceStore(self.directory).records()]

    def verify(self) -> None:
        """Fail unless every record and the chain verify with the public key."""
        report = verify_directory(self.directory, key=public_key(self.keys.public))
        assert report.ok, report.problems
