"""The lab's host image: Debian 12 made with debootstrap, imported into podman.

No image registry is reachable from these machines, so the project builds its
own image. The tag is a digest of everything that goes into it, so a second
build with the same recipe is instant and a changed recipe builds anew.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from e5ops.errors import LabError
from e5ops.lab.mirror import SUITE, Mirrors, read_mirrors
from e5ops.lab.podman import Podman, require_tools
from e5ops.project import cache_dir

log = logging.getLogger(__name__)

IMAGE_NAME = "localhost/e5ops-debian12"
# Molecule scenarios name this tag; every build or cache hit moves it.
LATEST = f"{IMAGE_NAME}:latest"

# What every standard Debian server has and Ansible needs: python3-apt for
# package_facts, sudo for become, dbus for systemd's control interfaces.
PACKAGES: tuple[str, ...] = (
    "systemd",
    "systemd-sysv",
    "openssh-server",
    "python3",
    "python3-apt",
    "sudo",
    "ca-certificates",
    "iproute2",
    "dbus",
)

# Each lab host makes its own SSH host keys at first boot instead of all of
# them sharing the keys made inside the image.
SSH_HOSTKEYS_DROPIN = """\
# e5ops lab image: make host keys at boot, so that no two hosts share them.
[Service]
ExecStartPre=
ExecStartPre=/usr/bin/ssh-keygen -A
ExecStartPre=/usr/sbin/sshd -t
"""

# Raise the recipe's version when the customisation below changes.
RECIPE_VERSION = 1


@dataclass(frozen=True)
class ImageResult:
    """What ``build_image`` did."""

    ref: str
    built: bool
    seconds: float


def image_tag() -> str:
    """Return the tag of the image the current recipe makes."""
    recipe = {
        "suite": SUITE,
        "packages": sorted(PACKAGES),
        "dropin": SSH_HOSTKEYS_DROPIN,
        "version": RECIPE_VERSION,
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()
    return digest[:12]


def image_ref() -> str:
    """Return the full reference (name and tag) of the current image."""
    return f"{IMAGE_NAME}:{image_tag()}"


def _apt_sources(mirrors: Mirrors) -> str:
    lines = [f"deb {mirrors.archive} {SUITE} main", f"deb {mirrors.archive} {SUITE}-updates main"]
    if mirrors.security:
        lines.append(f"deb {mirrors.security} {SUITE}-security main")
    return "\n".join(lines) + "\n"


def _customise(rootfs: Path, mirrors: Mirrors) -> None:
    (rootfs / "etc/apt/sources.list").write_text(_apt_sources(mirrors), encoding="utf-8")
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    dropin = rootfs / "etc/systemd/system/ssh.service.d"
    dropin.mkdir(parents=True, exist_ok=True)
    (dropin / "e5ops-hostkeys.conf").write_text(SSH_HOSTKEYS_DROPIN, encoding="utf-8")
    # An empty machine-id makes systemd generate one per container at boot.
    (rootfs / "etc/machine-id").write_text("", encoding="utf-8")
    for path in (rootfs / "var/cache/apt/archives").glob("*.deb"):
        path.unlink()


def build_image(podman: Podman, *, force: bool = False) -> ImageResult:
    """Build the lab image unless one with the current recipe's tag exists.

    Args:
        podman: The podman runner to import the image with.
        force: Build even when the image exists.

    Raises:
        MissingToolError: debootstrap, podman or runc is missing.
        LabError: debootstrap or the import failed; the tail of the log is shown.

    """
    ref = image_ref()
    started = time.monotonic()
    if not force and podman.exists("image", ref):
        log.info("image %s is already built", ref)
        podman.run("tag", ref, LATEST)
        return ImageResult(ref=ref, built=False, seconds=time.monotonic() - started)
    require_tools({"debootstrap": "debootstrap"})
    mirrors = read_mirrors()
    log.info("building %s from %s (suite %s)", ref, mirrors.archive, SUITE)
    workdir = Path(tempfile.mkdtemp(prefix="rootfs-", dir=cache_dir()))
    rootfs = workdir / "rootfs"
    try:
        _debootstrap(rootfs, mirrors, workdir / "debootstrap.log")
        _customise(rootfs, mirrors)
        _import(podman, rootfs, ref)
        podman.run("tag", ref, LATEST)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ImageResult(ref=ref, built=True, seconds=time.monotonic() - started)


def _debootstrap(rootfs: Path, mirrors: Mirrors, logfile: Path) -> None:
    command = [
        "debootstrap",
        "--variant=minbase",
        f"--include={','.join(PACKAGES)}",
        SUITE,
        str(rootfs),
        mirrors.archive,
    ]
    with logfile.open("w", encoding="utf-8") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        tail = "\n".join(logfile.read_text(encoding="utf-8", errors="replace").splitlines()[-15:])
        msg = f"debootstrap failed ({result.returncode}); its last lines:\n{tail}"
        raise LabError(msg, hint="check that the mirror is reachable, or set E5OPS_DEBIAN_MIRROR")


def _import(podman: Podman, rootfs: Path, ref: str) -> None:
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."],
        stdout=subprocess.PIPE,
    )
    result = subprocess.run(
        ["podman", "import", "--change", 'CMD ["/sbin/init"]', "-", ref],
        stdin=tar.stdout,
        capture_output=True,
        text=True,
        env=podman.env,
        check=False,
    )
    if tar.stdout is not None:
        tar.stdout.close()
    tar_rc = tar.wait()
    if tar_rc != 0 or result.returncode != 0:
        msg = f"importing the image failed (tar {tar_rc}, podman {result.returncode})"
        msg = f"{msg}: {result.stderr.strip()}"
        raise LabError(msg)
