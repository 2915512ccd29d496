import base64
import json
import stat

import pytest

from e5ops.cli import main
from e5ops.errors import EvidenceError, UsageError
from e5ops.evidence import verify_directory
from e5ops.evidence.keys import create_key, load_signer, public_key
from e5ops.evidence.store import HEAD_NAME, write_once


def problems(store, keypair):
    report = verify_directory(store.directory, key=public_key(keypair.public))
    return report, [str(p) for p in report.problems]


def test_key_is_private_and_never_overwritten(tmp_path):
    pair = create_key(private=tmp_path / "k" / "evidence.key")
    assert stat.S_IMODE(pair.private.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in pair.public.read_bytes()
    with pytest.raises(UsageError, match="already exists"):
        create_key(private=pair.private)


def test_passphrase_protects_the_key(tmp_path, monkeypatch):
    monkeypatch.delenv("E5OPS_EVIDENCE_PASSPHRASE", raising=False)
    pair = create_key(private=tmp_path / "evidence.key", passphrase=b"correct horse")
    assert b"ENCRYPTED" in pair.private.read_bytes()
    with pytest.raises(EvidenceError, match="cannot load"):
        load_signer(pair.private)
    with pytest.raises(EvidenceError, match="cannot load"):
        load_signer(pair.private, passphrase=b"wrong")
    monkeypatch.setenv("E5OPS_EVIDENCE_PASSPHRASE", "correct horse")
    assert load_signer(pair.private).public_key.keyid == pair.keyid


def test_records_are_named_as_auditors_expect_and_chained(three_records, keypair):
    names = [r.name for r in three_records.records()]
    assert names == [
        "01_production_deployment_automation",
        "01_production_deployment_automation.attempt-2",
        "01_production_deployment_automation.attempt-3",
    ]
    first, second, _ = three_records.records()
    assert first.record["previous"] is None
    assert second.record["previous"]["name"] == first.name
    for path in second.files:
        assert path.is_file()
        assert stat.S_IMODE(path.stat().st_mode) == 0o444
    report, found = problems(three_records, keypair)
    assert report.ok, found
    assert len(report.verified) == 3


def test_the_envelope_holds_an_in_toto_statement(three_records):
    envelope = json.loads(three_records.records()[0].envelope.read_text())
    assert envelope["payloadType"] == "application/vnd.in-toto+json"
    assert len(envelope["signatures"]) == 1


def test_write_once_never_overwrites(tmp_path):
    target = tmp_path / "a.md"
    write_once(target, b"first")
    with pytest.raises(EvidenceError, match="never rewritten"):
        write_once(target, b"second")
    assert target.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def _flip_byte(path, offset=-10):
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("suffix", [".md", ".json"])
def test_a_changed_byte_in_a_twin_is_named(three_records, keypair, suffix):
    target = three_records.directory / f"01_production_deployment_automation.attempt-2{suffix}"
    _flip_byte(target)
    report, found = problems(three_records, keypair)
    assert not report.ok
    assert found == [
        f"{target.name}: changed after signing: its sha256 differs from the signed digest"
    ]


def test_a_changed_byte_in_an_envelope_is_named(three_records, keypair):
    target = three_records.records()[1].envelope
    envelope = json.loads(target.read_text())
    # One byte of the signed statement changes: a digit of the sequence number.
    payload = base64.b64decode(envelope["payload"]).replace(b'"sequence":2', b'"sequence":3')
    envelope["payload"] = base64.b64encode(payload).decode()
    target.chmod(0o644)
    target.write_text(json.dumps(envelope))
    _report, found = problems(three_records, keypair)
    assert any(f.startswith(target.name) and "signature does not match" in f for f in found)


def test_a_missing_record_is_named(three_records, keypair):
    for path in three_records.records()[1].files:
        path.unlink()
    report, found = problems(three_records, keypair)
    assert not report.ok
    assert any(
        "record #2: missing from the chain (before "
        "01_production_deployment_automation.attempt-3.dsse.json)" in f
        for f in found
    ), found


def test_a_missing_last_record_is_named_through_the_head(three_records, keypair):
    last = three_records.records()[-1]
    for path in last.files:
        path.unlink()
    _report, found = problems(three_records, keypair)
    assert found == [f"{last.name}.dsse.json: missing: the chain head names it as record #3"]


def test_reordered_records_are_named(three_records, keypair):
    first, second, _ = three_records.records()
    for a, b in zip(first.files, second.files, strict=True):
        tmp = a.with_name("swap")
        a.rename(tmp)
        b.rename(a)
        tmp.rename(b)
    report, found = problems(three_records, keypair)
    assert not report.ok
    assert any(
        f.startswith(f"{first.name}.dsse.json: holds the record {second.name!r}") for f in found
    ), found


def test_a_wrong_key_is_named(three_records, tmp_path):
    other = create_key(private=tmp_path / "other" / "evidence.key")
    report = verify_directory(three_records.directory, key=public_key(other.public))
    assert not report.verified
    assert all("signed by another key" in p.message for p in report.problems)
    assert {p.file for p in report.problems} >= {r.envelope.name for r in three_records.records()}


def test_an_unsigned_file_is_named(three_records, keypair):
    (three_records.directory / "02_operations_infrastructure.md").write_text("# trust me\n")
    _, found = problems(three_records, keypair)
    assert found == ["02_operations_infrastructure.md: has no signed envelope beside it"]


def test_a_missing_head_is_named(three_records, keypair):
    (three_records.directory / HEAD_NAME).unlink()
    _, found = problems(three_records, keypair)
    assert found == [f"{HEAD_NAME}: missing: the end of the chain cannot be checked"]


def test_cli_verify_exits_non_zero_and_names_the_file(three_records, keypair, capsys):
    assert (
        main(["evidence", "verify", str(three_records.directory), "--key", str(keypair.public)])
        == 0
    )
    target = three_records.records()[0].files[0]
    _flip_byte(target)
    code = main(["evidence", "verify", str(three_records.directory), "--key", str(keypair.public)])
    assert code == 7
    assert target.name in capsys.readouterr().err
