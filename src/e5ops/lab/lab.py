"""Bring a lab of systemd Debian hosts up and down with podman.

Each host is a container booted with systemd, on a podman network with a
fixed subnet, reached over SSH as the ``deploy`` user with a key pair made
for this lab alone. Nothing runs privileged: the capabilities granted are the
ones the roles were measured to need (see lab/containers.conf).
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from e5ops.errors import LabError
from e5ops.lab.config import LABEL, LabConfig
from e5ops.lab.hosts import LabHost, plan_hosts, validate_host_names
from e5ops.lab.image import build_image, image_ref
from e5ops.lab.inventory import render_known_hosts, write_inventory
from e5ops.lab.podman import Podman, require_tools

log = logging.getLogger(__name__)

HOST_LABEL = "io.e5ops.host"
PROJECT_LABEL = "io.e5ops.project"
DEPLOY_USER = "deploy"

# Runs inside a new host, as root; reads the public key on stdin.
PROVISION_SCRIPT = f"""\
set -eu
key=$(cat)
id {DEPLOY_USER} >/dev/null 2>&1 || useradd --create-home --shell /bin/bash {DEPLOY_USER}
install -d -m 0700 -o {DEPLOY_USER} -g {DEPLOY_USER} /home/{DEPLOY_USER}/.ssh
printf '%s\\n' "$key" > /home/{DEPLOY_USER}/.ssh/authorized_keys
chown {DEPLOY_USER}:{DEPLOY_USER} /home/{DEPLOY_USER}/.ssh/authorized_keys
chmod 0600 /home/{DEPLOY_USER}/.ssh/authorized_keys
printf '%s ALL=(ALL) NOPASSWD:ALL\\n' {DEPLOY_USER} > /etc/sudoers.d/{DEPLOY_USER}
chmod 0440 /etc/sudoers.d/{DEPLOY_USER}
"""


@dataclass(frozen=True)
class HostStatus:
    """What ``lab status`` shows of one host."""

    name: str
    container: str
    address: str
    state: str
    systemd: str


@dataclass(frozen=True)
class UpResult:
    """What ``lab up`` did, host by host."""

    created: tuple[str, ...]
    started: tuple[str, ...]
    repaired: tuple[str, ...]
    unchanged: tuple[str, ...]
    inventory: Path
    seconds: float

    @property
    def changed(self) -> bool:
        """Tell whether anything was created, started or repaired."""
        return bool(self.created or self.started or self.repaired)


#: Seconds a lab host may take to boot and answer on SSH: seven booting at
#: once on a busy two-core machine can take minutes.
BOOT_TIMEOUT = 300


class Lab:
    """One lab: its containers, network, key pair and inventory."""

    def __init__(self, config: LabConfig, *, podman: Podman | None = None) -> None:
        """Bind to a lab config; podman is checked for lazily by each action."""
        self.config = config
        self._podman = podman

    @property
    def podman(self) -> Podman:
        """The podman runner, created on first use once podman is known to exist."""
        if self._podman is None:
            require_tools()
            self._podman = Podman(containers_conf=self.config.project / "lab" / "containers.conf")
        return self._podman

    def up(self, names: tuple[str, ...], *, boot_timeout: float = BOOT_TIMEOUT) -> UpResult:
        """Start the named hosts; hosts already running are left alone.

        Each host gets ``boot_timeout`` seconds to boot and answer on SSH.

        Raises:
            UsageError: A host name is invalid (before anything starts).
            LabError: A host did not boot (with its journal's tail) or SSH failed.

        """
        started_at = time.monotonic()
        names = validate_host_names(names)
        planned = plan_hosts(names, self.config.subnet)
        image = build_image(self.podman).ref
        self._ensure_network()
        public_key = self._ensure_keypair()
        created, started, unchanged = self._start_containers(planned, image)
        for name in (*created, *started):
            self._wait_for_boot(self.config.container(name), boot_timeout)
        repaired = self._provision(planned, unchanged, public_key, boot_timeout)
        unchanged = [name for name in unchanged if name not in repaired]
        inventory = self._write_access_files()
        for host in planned:
            if host.name not in unchanged:
                self._wait_for_ssh(host, boot_timeout)
        return UpResult(
            created=tuple(created),
            started=tuple(started),
            repaired=tuple(repaired),
            unchanged=tuple(unchanged),
            inventory=inventory,
            seconds=time.monotonic() - started_at,
        )

    def _start_containers(
        self, planned: tuple[LabHost, ...], image: str
    ) -> tuple[list[str], list[str], list[str]]:
        """Create missing hosts and start stopped ones; return created, started, unchanged."""
        created, started, unchanged = [], [], []
        for host in planned:
            container = self.config.container(host.name)
            state = self._container_state(container)
            if state is not None:
                self._check_owner(container)
            if state == "running":
                unchanged.append(host.name)
            elif state is None:
                self._create(host, image)
                created.append(host.name)
            else:
                self.podman.run("start", container)
                started.append(host.name)
        return created, started, unchanged

    def _provision(
        self,
        planned: tuple[LabHost, ...],
        unchanged: list[str],
        public_key: bytes,
        boot_timeout: float,
    ) -> list[str]:
        """Give hosts the deploy user and key; return the running hosts that needed it.

        A host an earlier `up` left half done (boot timed out, key replaced) is
        provisioned again; a complete one is left alone.
        """
        repaired = []
        for host in planned:
            container = self.config.container(host.name)
            if host.name in unchanged:
                if self._has_access(container, public_key):
                    continue
                self._wait_for_boot(container, boot_timeout)
                repaired.append(host.name)
            self.podman.exec(container, "sh", "-c", PROVISION_SCRIPT, stdin=public_key)
        return repaired

    def down(self) -> tuple[str, ...]:
        """Remove the lab's containers, network, key pair and inventory; keep the image.

        Returns:
            The names of the hosts removed (empty when nothing was up).

        """
        hosts = self._lab_containers()
        for container in hosts.values():
            self._remove_container(container)
        if self.podman.exists("network", self.config.network):
            self.podman.run("network", "rm", "--force", self.config.network)
        (self.config.inventory_dir / "hosts.yml").unlink(missing_ok=True)
        shutil.rmtree(self.config.state, ignore_errors=True)
        return tuple(sorted(hosts))

    def remove(self, names: tuple[str, ...]) -> tuple[str, ...]:
        """Remove some hosts of the lab and rewrite its inventory; the others stay.

        Returns:
            The names of the hosts removed (those that were not up are skipped).

        """
        names = validate_host_names(names)
        containers = self._lab_containers()
        removed = tuple(sorted(name for name in names if name in containers))
        for name in removed:
            self._remove_container(containers[name])
        if removed and self.hosts():
            self._write_access_files()
        return removed

    def _remove_container(self, container: str) -> None:
        """Remove a container, once more if podman loses a race with its exiting init.

        Seen on a busy machine: `podman rm --force` fails with "could not be
        stopped" when runc's kill finds the container's process already gone.
        A second try finds it stopped, or gone, and succeeds.
        """
        try:
            self.podman.run("rm", "--force", "--time", "5", container)
        except LabError:
            time.sleep(2)
            if self.podman.exists("container", container):
                self.podman.run("rm", "--force", "--time", "5", container)

    def status(self) -> tuple[HostStatus, ...]:
        """Return every host of the lab with its address, container state and systemd state."""
        rows = []
        for name, container in sorted(self._lab_containers().items()):
            info = self.podman.json("inspect", container)[0]
            state = info["State"]["Status"]
            networks = info["NetworkSettings"].get("Networks") or {}
            address = (networks.get(self.config.network) or {}).get("IPAddress", "")
            systemd = "-"
            if state == "running":
                probe = self.podman.exec(container, "systemctl", "is-system-running", check=False)
                systemd = probe.stdout.strip() or "unknown"
            rows.append(HostStatus(name, container, address, state, systemd))
        return tuple(rows)

    def hosts(self) -> tuple[LabHost, ...]:
        """Return the lab's hosts as they are up now, with their planned addresses."""
        names = tuple(sorted(self._lab_containers()))
        return plan_hosts(names, self.config.subnet) if names else ()

    def _lab_containers(self) -> dict[str, str]:
        listed = self.podman.json(
            "ps", "--all", "--filter", f"label={LABEL}={self.config.name}", "--format", "json"
        )
        return {item["Labels"][HOST_LABEL]: item["Names"][0] for item in listed}

    def _check_owner(self, container: str) -> None:
        """Refuse to adopt a host that another checkout's lab of the same name started."""
        labels = self.podman.json("inspect", container)[0]["Config"].get("Labels") or {}
        owner = labels.get(PROJECT_LABEL)
        if owner and owner != str(self.config.project):
            msg = f"{container} belongs to the lab {self.config.name} of another checkout ({owner})"
            hint = "pick another lab name with --lab (or E5OPS_LAB), or run `e5ops lab down` there"
            raise LabError(msg, hint=hint)

    def _container_state(self, container: str) -> str | None:
        if not self.podman.exists("container", container):
            return None
        info = self.podman.json("inspect", container)[0]
        return str(info["State"]["Status"])

    def _ensure_network(self) -> None:
        name = self.config.network
        if self.podman.exists("network", name):
            info = self.podman.json("network", "inspect", name)[0]
            subnets = [s["subnet"] for s in info.get("subnets", [])]
            if self.config.subnet not in subnets:
                msg = (
                    f"podman network {name} exists with subnets {subnets}, not {self.config.subnet}"
                )
                raise LabError(msg, hint=f"run `e5ops lab down --lab {self.config.name}` first")
            return
        self.podman.run(
            "network", "create", "--subnet", self.config.subnet,
            "--label", f"{LABEL}={self.config.name}", name,
        )  # fmt: skip

    def _ensure_keypair(self) -> bytes:
        self.config.state.mkdir(parents=True, exist_ok=True, mode=0o700)
        (self.config.state / "secrets").mkdir(exist_ok=True, mode=0o700)
        key = self.config.state / "id_ed25519"
        if not key.is_file():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                 f"e5ops-lab-{self.config.name}", "-f", str(key)],
                check=True,
            )  # fmt: skip
        return key.with_suffix(".pub").read_bytes()

    def _create(self, host: LabHost, image: str) -> None:
        log.info("starting %s at %s", host.name, host.address)
        self.podman.run(
            "run", "--detach",
            "--name", self.config.container(host.name),
            "--hostname", host.name,
            "--network", self.config.network,
            "--ip", host.address,
            "--label", f"{LABEL}={self.config.name}",
            "--label", f"{HOST_LABEL}={host.name}",
            "--label", f"{PROJECT_LABEL}={self.config.project}",
            "--systemd", "always",
            # nftables and namespaced net.* sysctls; never --privileged.
            "--cap-add", "NET_ADMIN",
            "--security-opt", "unmask=/proc/sys",
            image, "/sbin/init",
        )  # fmt: skip

    def _has_access(self, container: str, public_key: bytes) -> bool:
        keys = self.podman.exec(
            container, "cat", f"/home/{DEPLOY_USER}/.ssh/authorized_keys", check=False
        )
        return keys.returncode == 0 and keys.stdout.strip() == public_key.decode().strip()

    def _wait_for_boot(self, container: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        state = "unknown"
        while time.monotonic() < deadline:
            probe = self.podman.exec(container, "systemctl", "is-system-running", check=False)
            state = probe.stdout.strip()
            if state in {"running", "degraded"}:
                if state == "degraded":
                    failed = self.podman.exec(
                        container, "systemctl", "--failed", "--no-legend", check=False
                    )
                    log.warning("%s booted degraded: %s", container, failed.stdout.strip())
                ssh = self.podman.exec(container, "systemctl", "is-active", "ssh", check=False)
                if ssh.stdout.strip() == "active":
                    return
            elif self._container_state(container) not in {"running", None}:
                break
            time.sleep(0.5)
        msg = (
            f"{container} did not boot (systemd: {state or 'no answer'}); "
            f"its journal ends with:\n{self._journal_tail(container)}"
        )
        raise LabError(msg, hint="check lab/containers.conf and the podman runtime (runc)")

    def _journal_tail(self, container: str) -> str:
        journal = self.podman.exec(container, "journalctl", "--no-pager", "-n", "25", check=False)
        if journal.returncode == 0 and journal.stdout.strip():
            return journal.stdout.rstrip()
        logs = self.podman.run("logs", "--tail", "25", container, check=False)
        return (logs.stdout + logs.stderr).rstrip() or "(nothing: the container is gone)"

    def _write_access_files(self) -> Path:
        hosts = self.hosts()
        keys = {}
        for host in hosts:
            container = self.config.container(host.name)
            result = self.podman.exec(
                container, "cat", "/etc/ssh/ssh_host_ed25519_key.pub", check=False
            )
            if result.returncode == 0:
                keys[host.address] = " ".join(result.stdout.split()[:2])
        known_hosts = self.config.state / "known_hosts"
        known_hosts.write_text(render_known_hosts(keys), encoding="utf-8")
        # SSH master sockets per key pair: each `lab up` after a `lab down` has
        # a new key, so no session reuses a master to a host that is gone. The
        # directory is short (sockets have a path limit) and outside the checkout.
        public_key = (self.config.state / "id_ed25519.pub").read_bytes()
        control_dir = Path(tempfile.gettempdir()) / (
            "e5ops-cp-" + hashlib.sha256(public_key).hexdigest()[:12]
        )
        control_dir.mkdir(mode=0o700, exist_ok=True)
        return write_inventory(self.config, hosts, control_dir=control_dir)

    def _wait_for_ssh(self, host: LabHost, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                probe.settimeout(2)
                if probe.connect_ex((host.address, 22)) == 0:
                    break
            time.sleep(0.5)
        command = [
            "ssh", "-i", str(self.config.state / "id_ed25519"),
            "-o", f"UserKnownHostsFile={self.config.state / 'known_hosts'}",
            "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes",
            "-o", "ConnectTimeout=10",
            f"{DEPLOY_USER}@{host.address}", "sudo", "-n", "true",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            reason = result.stderr.strip()
            msg = f"{host.name} ({host.address}) refused SSH as {DEPLOY_USER}: {reason}"
            hint = f"see `podman exec {self.config.container(host.name)} journalctl -u ssh`"
            raise LabError(msg, hint=hint)


__all__ = ["HostStatus", "Lab", "UpResult", "image_ref"]
