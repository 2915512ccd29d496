#!/usr/bin/env python3
"""Build versioned release artifacts of the demo app: ``demo-app-VERSION.tar.gz`` + ``.sha256``.

Usage::

    examples/demo-app/build.py                    # every lab version into build/demo-app/
    examples/demo-app/build.py --version 2.1.0    # one healthy version
    examples/demo-app/build.py --version 2.2.0 --broken   # one whose health check fails

Archives are reproducible (fixed order, owners and times), so building the
same version twice gives the same bytes and the same checksum. Each archive
holds the files at its top level, as the release role unpacks them into
``releases/<version>/``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
NAME = "demo-app"
# The versions the lab and the tests use; 1.3.0-broken fails its health check.
LAB_VERSIONS = {"1.0.0": True, "1.1.0": True, "1.2.0": True, "1.3.0-broken": False}
_VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[A-Za-z0-9.]+)?$")


def _member(name: str, data: bytes, mode: int) -> tuple[tarfile.TarInfo, io.BytesIO]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info, io.BytesIO(data)


def build(version: str, *, healthy: bool, out: Path) -> Path:
    """Write the artifact of ``version`` and its checksum file into ``out``; return the artifact."""
    if not _VERSION.match(version):
        msg = f"version {version!r} is not of the form 1.2.3 or 1.2.3-label"
        raise SystemExit(msg)
    out.mkdir(parents=True, exist_ok=True)
    info = json.dumps({"name": NAME, "version": version, "healthy": healthy}, indent=2) + "\n"
    members = [
        _member("app.py", (HERE / "app.py").read_bytes(), 0o644),
        _member("build_info.json", info.encode(), 0o644),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            tar.addfile(member, data)
    artifact = out / f"{NAME}-{version}.tar.gz"
    with (
        artifact.open("wb") as handle,
        gzip.GzipFile(filename="", mode="wb", fileobj=handle, mtime=0) as gz,
    ):
        gz.write(raw.getvalue())
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    (out / f"{artifact.name}.sha256").write_text(f"{digest}  {artifact.name}\n", encoding="utf-8")
    return artifact


def main() -> None:
    """Build the lab versions, or the one version asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE.parents[1] / "build" / NAME)
    parser.add_argument("--version", help="build only this version")
    parser.add_argument("--broken", action="store_true", help="make its health check fail")
    args = parser.parse_args()
    versions = {args.version: not args.broken} if args.version else LAB_VERSIONS
    for version, healthy in versions.items():
        artifact = build(version, healthy=healthy, out=args.out)
        state = "healthy" if healthy else "BROKEN (health check fails)"
        print(f"{artifact} {state}")  # noqa: T201 - a script's output


if __name__ == "__main__":
    main()
