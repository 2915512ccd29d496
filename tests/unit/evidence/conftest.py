import pytest

from e5ops.evidence import EvidenceStore, step
from e5ops.evidence.keys import create_key, load_signer


@pytest.fixture
def keypair(tmp_path):
    return create_key(private=tmp_path / "keys" / "evidence.key")


@pytest.fixture
def store(tmp_path, keypair):
    return EvidenceStore(tmp_path / "e5", signer=load_signer(keypair.private))


def run_body(status="successful", published=None, changed=0):
    return {
        "run": {
            "playbook": "playbooks/site.yml",
            "inventory": "inventories/lab",
            "limit": None,
            "tags": None,
            "check": False,
            "status": status,
            "rc": 0 if status == "successful" else 2,
            "started": "2026-01-01T00:00:00+00:00",
            "ended": "2026-01-01T00:00:01+00:00",
            "seconds": 1.0,
            "hosts": {
                "web1": {
                    "ok": 3,
                    "changed": changed,
                    "failures": 0 if status == "successful" else 1,
                    "unreachable": 0,
                    "skipped": 0,
                    "rescued": 0,
                    "ignored": 0,
                }
            },
            "tasks": [],
            "published": published or {},
        }
    }


@pytest.fixture
def three_records(store):
    for _ in range(3):
        store.write(step=step("01"), body=run_body(), subjects=[], recorder="cli")
    return store


@pytest.fixture
def make_run_body():
    return run_body
