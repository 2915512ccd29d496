"""The Ed25519 key that signs evidence: created once, kept private, exported for auditors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from securesystemslib.signer import CryptoSigner, SSlibKey  # type: ignore[attr-defined]  # no __all__ there

from e5ops.errors import EvidenceError, UsageError

PRIVATE_NAME = "evidence.key"
PUBLIC_NAME = "evidence.pub"
PASSPHRASE_ENV = "E5OPS_EVIDENCE_PASSPHRASE"  # noqa: S105 - a variable name, not a secret
KEY_ENV = "E5OPS_EVIDENCE_KEY"


@dataclass(frozen=True)
class KeyPair:
    """Where a signing key pair was written, and its key id."""

    private: Path
    public: Path
    keyid: str


def default_private_key(base: Path) -> Path:
    """Return the signing key ``E5OPS_EVIDENCE_KEY`` names, or ``.e5ops/keys/evidence.key``."""
    explicit = os.environ.get(KEY_ENV)
    return Path(explicit) if explicit else base / ".e5ops" / "keys" / PRIVATE_NAME


def create_key(*, private: Path, passphrase: bytes | None = None) -> KeyPair:
    """Create an Ed25519 key pair: the private key mode 0600, the public key beside it.

    Args:
        private: Where to write the private key (PEM, PKCS #8).
        passphrase: Encrypt the private key with it, if given.

    Raises:
        UsageError: A key already exists there; it is never overwritten.

    """
    if private.exists():
        msg = f"a signing key already exists at {private}"
        raise UsageError(msg, hint="evidence signed by it would no longer verify; keep it")
    private.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    # O_EXCL and the mode at creation: the key is never readable by others, not even briefly.
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = private.with_suffix(".pub")
    public.write_bytes(public_pem(key.public_key()))
    return KeyPair(private=private, public=public, keyid=public_key(public).keyid)


def public_pem(key: Ed25519PublicKey) -> bytes:
    """Return a public key as PEM (SubjectPublicKeyInfo), the form auditors receive."""
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_signer(path: Path, *, passphrase: bytes | None = None) -> CryptoSigner:
    """Load the private key at ``path`` as a signer.

    Args:
        path: The PEM private key.
        passphrase: Its passphrase; ``E5OPS_EVIDENCE_PASSPHRASE`` when not given.

    Raises:
        EvidenceError: No key there, a wrong passphrase, or not an Ed25519 key.

    """
    if not path.is_file():
        msg = f"no evidence signing key at {path}"
        raise EvidenceError(msg, hint="create one with `e5ops evidence init`")
    if passphrase is None and os.environ.get(PASSPHRASE_ENV):
        passphrase = os.environ[PASSPHRASE_ENV].encode()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except (ValueError, TypeError) as exc:
        msg = f"cannot load the signing key {path}: {exc}"
        raise EvidenceError(msg, hint=f"set {PASSPHRASE_ENV} if the key has a passphrase") from exc
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"{path} is not an Ed25519 key"
        raise EvidenceError(msg, hint="create one with `e5ops evidence init`")
    return CryptoSigner(key)


def public_key(path: Path) -> SSlibKey:
    """Load a PEM public key for verification.

    Raises:
        UsageError: The file is missing or holds no Ed25519 public key.

    """
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        msg = f"cannot read the public key {path}: {exc}"
        raise UsageError(
            msg, hint="pass the evidence.pub that `e5ops evidence init` wrote"
        ) from exc
    if not isinstance(key, Ed25519PublicKey):
        msg = f"{path} is not an Ed25519 public key"
        raise UsageError(msg, hint="pass the evidence.pub that `e5ops evidence init` wrote")
    return SSlibKey.from_crypto(key)
