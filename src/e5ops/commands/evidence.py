"""``e5ops evidence``: create the signing key, verify a directory, show its records."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from e5ops.commands._console import err, out
from e5ops.errors import UsageError, VerificationError
from e5ops.evidence import EvidenceStore, verify_directory
from e5ops.evidence.keys import PASSPHRASE_ENV, create_key, default_private_key, public_key
from e5ops.evidence.store import default_directory
from e5ops.project import find_project_root

if TYPE_CHECKING:
    import argparse


def init(args: argparse.Namespace) -> int:
    """Create the Ed25519 signing key and export its public half."""
    project = find_project_root()
    private = Path(args.key) if args.key else default_private_key(project)
    passphrase: bytes | None = None
    if args.passphrase:
        text = os.environ.get(PASSPHRASE_ENV) or getpass.getpass("passphrase for the key: ")
        if not text:
            msg = "an empty passphrase protects nothing"
            raise UsageError(msg, hint=f"type one, or set {PASSPHRASE_ENV}")
        passphrase = text.encode()
    pair = create_key(private=private, passphrase=passphrase)
    if args.export:
        Path(args.export).write_bytes(pair.public.read_bytes())
    out.print(f"private key: {pair.private} (mode 0600{', passphrase' if passphrase else ''})")
    out.print(f"public key:  {args.export or pair.public} (give this to auditors)")
    out.print(f"key id:      {pair.keyid}")
    out.print(
        "`e5ops run` now records every run; plain ansible-playbook records through the "
        "callback e5ops.production.evidence (callbacks_enabled in ansible.cfg)."
    )
    return 0


def verify(args: argparse.Namespace) -> int:
    """Verify every signature, twin and link of the chain; name every problem."""
    project_dir = Path(args.directory) if args.directory else None
    if project_dir is None:
        project_dir = default_directory(find_project_root())
    report = verify_directory(project_dir, key=public_key(Path(args.key)))
    for problem in report.problems:
        err.print(f"[red]FAIL[/] {problem}", highlight=False, soft_wrap=True)
    if report.ok:
        out.print(f"OK: {len(report.verified)} records verified in {project_dir}")
        return 0
    msg = (
        f"{len(report.problems)} problems in {project_dir}; {len(report.verified)} records verified"
    )
    raise VerificationError(msg)


def show(args: argparse.Namespace) -> int:
    """List the records of the evidence directory in chain order."""
    directory = Path(args.directory) if args.directory else default_directory(find_project_root())
    records = EvidenceStore(directory).records()
    if not records:
        out.print(f"no evidence records in {directory}")
        return 0
    table = Table("#", "record", "step", "kind", "created", "outcome")
    for stored in records:
        record = stored.record
        outcome = _outcome(record)
        table.add_row(
            str(stored.sequence),
            stored.name,
            stored.step,
            stored.kind,
            record["created"][:19],
            outcome,
        )
    out.print(table)
    return 0


def _outcome(record: dict[str, object]) -> str:
    if not record["complete"]:
        return "INCOMPLETE"
    for key, field in (
        ("run", "status"),
        ("scope", "verdict"),
        ("review", "verdict"),
        ("assessment", "recommendation"),
        ("decision", "decision"),
    ):
        body = record.get(key)
        if isinstance(body, dict):
            return str(body[field])
    return ""


def register(verbs: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``evidence`` and its sub-verbs."""
    parser = verbs.add_parser(
        "evidence",
        help="signing key, verification and listing of evidence records",
        description="Evidence records are signed DSSE envelopes holding in-toto Statements, "
        "chained by digest. Exit codes: 0 fine, 2 wrong usage, 6 key or store problem, "
        "7 the evidence does not verify.",
    )
    sub = parser.add_subparsers(dest="evidence_verb", required=True)
    init_parser = sub.add_parser("init", help="create the Ed25519 signing key (mode 0600)")
    init_parser.add_argument("--key", help="private key path (default: .e5ops/keys/evidence.key)")
    init_parser.add_argument(
        "--passphrase",
        action="store_true",
        help=f"encrypt the key with a passphrase (asked for, or ${PASSPHRASE_ENV})",
    )
    init_parser.add_argument("--export", help="also write the public key here, for auditors")
    init_parser.set_defaults(func=init)
    verify_parser = sub.add_parser(
        "verify",
        help="check every signature, twin digest and chain link",
        description="Exits 0 when every record verifies, 7 when anything is wrong; "
        "each problem is printed with the file it concerns.",
    )
    verify_parser.add_argument(
        "directory", nargs="?", help="evidence directory (default: evidence/e5)"
    )
    verify_parser.add_argument("--key", required=True, help="the public key (evidence.pub)")
    verify_parser.set_defaults(func=verify)
    show_parser = sub.add_parser("show", help="list the records in chain order")
    show_parser.add_argument(
        "directory", nargs="?", help="evidence directory (default: evidence/e5)"
    )
    show_parser.set_defaults(func=show)
