"""Find the Debian mirror this machine already uses, so the project never names one."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from e5ops.errors import LabError

SUITE = "bookworm"


@dataclass(frozen=True)
class Mirrors:
    """The Debian archive and, if the machine has one, its security archive."""

    archive: str
    security: str | None


def _deb822_entries(text: str) -> list[dict[str, str]]:
    entries = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[0].isspace():
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.strip()
        if fields:
            entries.append(fields)
    return entries


def _one_line_entries(text: str) -> list[dict[str, str]]:
    entries = []
    for line in text.splitlines():
        parts = re.sub(r"\[[^]]*\]", "", line).split()
        if len(parts) >= 3 and parts[0] == "deb":  # noqa: PLR2004
            entries.append({"uris": parts[1], "suites": parts[2], "types": "deb"})
    return entries


def read_mirrors(apt_dir: Path = Path("/etc/apt")) -> Mirrors:
    """Return the mirrors from ``E5OPS_DEBIAN_MIRROR`` or the machine's apt sources.

    Raises:
        LabError: No Debian bookworm source was found.

    """
    override = os.environ.get("E5OPS_DEBIAN_MIRROR")
    security_override = os.environ.get("E5OPS_DEBIAN_SECURITY_MIRROR")
    if override:
        return Mirrors(archive=override.rstrip("/"), security=security_override)
    entries: list[dict[str, str]] = []
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        entries += _deb822_entries(path.read_text(encoding="utf-8"))
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        if path.is_file():
            entries += _one_line_entries(path.read_text(encoding="utf-8"))
    archive = security = None
    for entry in entries:
        if "deb" not in entry.get("types", "deb").split():
            continue
        suites = entry.get("suites", "").split()
        uri = entry.get("uris", "").split()[0].rstrip("/") if entry.get("uris") else None
        if uri and SUITE in suites and archive is None:
            archive = uri
        if uri and f"{SUITE}-security" in suites and security is None:
            security = uri
    if archive is None:
        msg = f"no Debian {SUITE} mirror found in {apt_dir}/sources.list(.d)"
        raise LabError(msg, hint="set E5OPS_DEBIAN_MIRROR to the URL of a Debian mirror")
    return Mirrors(archive=archive, security=security_override or security)
