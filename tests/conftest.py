from pathlib import Path

import pytest
from signed import SignedEvidence

from e5ops.evidence.keys import create_key

PROJECT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project() -> Path:
    return PROJECT


@pytest.fixture(scope="module")
def signed_evidence(tmp_path_factory):
    """A signing key and an evidence directory that every run of the module records into.

    Set in the environment for the module, so that plain ansible-playbook runs
    (the evidence callback) find them as e5ops' own runs do.
    """
    base = tmp_path_factory.mktemp("evidence")
    keys = create_key(private=base / "keys" / "evidence.key")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("E5OPS_EVIDENCE_KEY", str(keys.private))
        patch.setenv("E5OPS_EVIDENCE_DIR", str(base / "e5"))
        yield SignedEvidence(directory=base / "e5", keys=keys)
