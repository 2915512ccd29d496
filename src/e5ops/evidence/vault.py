"""The plaintexts of vault-encrypted variables, so that redaction can find them anywhere.

A vault value can reach a result in the clear (a ``debug``, a templated file's
diff, a failing command's message). Redacting by key name misses those, so the
recorder learns the plaintexts of the inventory's vaulted variables up front
and replaces them wherever they occur.
"""

from __future__ import annotations

import configparser
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

# ansible ships no type information.
from ansible.errors import AnsibleError  # type: ignore[import-untyped]
from ansible.parsing.dataloader import DataLoader  # type: ignore[import-untyped]
from ansible.parsing.vault import (  # type: ignore[import-untyped]
    FileVaultSecret,
    VaultHelper,
    VaultLib,
    VaultSecret,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

log = logging.getLogger(__name__)

_VAULT_HEADER = b"$ANSIBLE_VAULT;"
_SUFFIXES = {".yml", ".yaml", ".json", ""}


def _var_files(sources: Iterable[str | Path]) -> Iterator[Path]:
    for source in sources:
        path = Path(source)
        if not path.exists():
            continue  # a host list such as "localhost," names no file
        roots = (
            [path]
            if path.is_dir()
            else [path, path.parent / "group_vars", path.parent / "host_vars"]
        )
        for root in roots:
            if root.is_file():
                yield root
            elif root.is_dir():
                yield from (
                    p
                    for p in sorted(root.rglob("*"))
                    if p.is_file() and p.suffix in _SUFFIXES and not p.name.startswith(".")
                )


def _strings(data: Any) -> Iterator[Any]:  # noqa: ANN401 - any loaded YAML value
    if isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)
    else:
        yield data


def secrets_from_config(config: Path) -> list[tuple[str, VaultSecret]]:
    """Return the vault secrets an ansible.cfg or ``ANSIBLE_VAULT_PASSWORD_FILE`` names."""
    password_file = os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE")
    if not password_file and config.is_file():
        parser = configparser.ConfigParser(interpolation=None)
        parser.read(config)
        password_file = parser.get("defaults", "vault_password_file", fallback=None)
        if password_file and not Path(password_file).is_absolute():
            password_file = str(config.parent / password_file)
    if not password_file or not Path(password_file).is_file():
        return []
    secret = FileVaultSecret(filename=password_file, loader=DataLoader())
    secret.load()
    return [("default", secret)]


def vault_plaintexts(
    *,
    sources: Iterable[str | Path],
    loader: DataLoader | None = None,
    secrets: list[tuple[str, VaultSecret]] | None = None,
) -> set[str]:
    """Return the plaintexts of vaulted values in the inventory ``sources`` and their vars.

    Args:
        sources: Inventory files or directories; ``group_vars``/``host_vars`` beside them count.
        loader: A loader that already holds the vault secrets (inside ansible-playbook).
        secrets: The vault secrets, when there is no such loader.

    """
    if loader is None:
        loader = DataLoader()
        loader.set_vault_secrets(secrets or [])
    vault = VaultLib(secrets=list(loader._vault.secrets or []))  # noqa: SLF001 - the loader's own secrets
    found: set[str] = set()
    for path in _var_files(sources):
        try:
            whole_file = path.read_bytes().lstrip().startswith(_VAULT_HEADER)
            data = loader.load_from_file(str(path), cache="none")
        except (AnsibleError, OSError, ValueError) as exc:
            log.debug("no vault values read from %s: %s", path, exc)
            continue
        for value in _strings(data):
            ciphertext = VaultHelper.get_ciphertext(value, with_tags=False)
            if ciphertext:
                try:
                    found.add(vault.decrypt(ciphertext).decode())
                except AnsibleError as exc:
                    log.debug("a vault value in %s could not be decrypted: %s", path, exc)
            elif whole_file and isinstance(value, str):
                found.add(str(value))
    return found
