"""Lab host names, the inventory groups they belong to, and their fixed addresses.

A lab host is named ``<kind><n>``: ``lb1``, ``web3``, ``mon1``. The kind decides
the inventory group and the block of addresses the host takes on the lab's
subnet, so a host keeps its address whatever else is up: adding ``web4`` later
moves nobody.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from e5ops.errors import UsageError


@dataclass(frozen=True)
class HostKind:
    """One kind of lab host."""

    prefix: str
    group: str
    first_offset: int
    capacity: int


KINDS: tuple[HostKind, ...] = (
    HostKind(prefix="lb", group="loadbalancers", first_offset=10, capacity=9),
    HostKind(prefix="web", group="webservers", first_offset=20, capacity=79),
    HostKind(prefix="mon", group="monitoring_servers", first_offset=100, capacity=9),
    HostKind(prefix="backup", group="backup_servers", first_offset=110, capacity=9),
    HostKind(prefix="db", group="db_servers", first_offset=120, capacity=9),
    HostKind(prefix="ca", group="ca_servers", first_offset=130, capacity=9),
)

# ca1 keeps the internal CA that site.yml issues every host's certificate from.
DEFAULT_HOSTS: tuple[str, ...] = ("lb1", "web1", "web2", "web3", "mon1", "backup1", "ca1")
MAX_HOSTS = 24

_NAME = re.compile(r"^(?P<prefix>[a-z]+)(?P<number>[1-9][0-9]?)$")


@dataclass(frozen=True)
class LabHost:
    """A host of the lab: its name, inventory group and address."""

    name: str
    group: str
    address: str


def kind_of(name: str) -> tuple[HostKind, int]:
    """Return the kind of a host name and its number.

    Raises:
        UsageError: The name does not follow ``<kind><n>`` with a known kind.

    """
    match = _NAME.match(name)
    prefixes = ", ".join(kind.prefix for kind in KINDS)
    if not match:
        msg = f"invalid lab host name {name!r}"
        hint = f"use a kind and a number from 1 to 99, such as web1; kinds: {prefixes}"
        raise UsageError(msg, hint=hint)
    for kind in KINDS:
        if kind.prefix == match["prefix"]:
            number = int(match["number"])
            if number > kind.capacity:
                msg = f"lab host {name!r} is out of range"
                raise UsageError(msg, hint=f"{kind.prefix} hosts go from 1 to {kind.capacity}")
            return kind, number
    msg = f"unknown kind of lab host {match['prefix']!r} in {name!r}"
    raise UsageError(msg, hint=f"known kinds: {prefixes}")


def parse_host_list(text: str) -> tuple[str, ...]:
    """Parse ``--hosts``: names separated by commas, with ranges such as ``web1-3``.

    Raises:
        UsageError: A name, a range or the count is invalid.

    """
    names: list[str] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        span = re.fullmatch(r"([a-z]+)([0-9]+)-([0-9]+)", item)
        if span:
            first, last = int(span[2]), int(span[3])
            if last < first:
                msg = f"host range {item!r} runs backwards"
                raise UsageError(msg, hint=f"write it as {span[1]}{last}-{first}")
            names.extend(f"{span[1]}{n}" for n in range(first, last + 1))
        else:
            names.append(item)
    return validate_host_names(names)


def validate_host_names(names: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Check a set of host names: valid, no duplicates, at least one, not too many.

    Raises:
        UsageError: Any of those does not hold.

    """
    if not names:
        msg = "no lab hosts given"
        raise UsageError(msg, hint="name at least one host, such as --hosts web1")
    if len(names) > MAX_HOSTS:
        msg = f"{len(names)} lab hosts asked for; the lab holds at most {MAX_HOSTS}"
        raise UsageError(msg, hint="a lab this size does not fit a 2-core machine; use fewer")
    seen: set[str] = set()
    for name in names:
        kind_of(name)
        if name in seen:
            msg = f"lab host {name!r} is given twice"
            raise UsageError(msg, hint="name each host once")
        seen.add(name)
    return tuple(names)


def plan_hosts(names: tuple[str, ...], subnet: str) -> tuple[LabHost, ...]:
    """Give each named host its group and fixed address on ``subnet``."""
    network = ipaddress.IPv4Network(subnet)
    hosts = []
    for name in names:
        kind, number = kind_of(name)
        address = network.network_address + kind.first_offset + number - 1
        hosts.append(LabHost(name=name, group=kind.group, address=str(address)))
    return tuple(hosts)
