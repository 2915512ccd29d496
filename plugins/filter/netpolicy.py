"""Filters that check and sort network addresses and port specifications.

The hardening role refuses bad firewall input before it changes anything.
ansible.utils' ``ipaddr`` needs the netaddr library, which the controller does
not have; Python's own ``ipaddress`` module is enough for what is checked here.
"""

from __future__ import annotations

import ipaddress
import re


_PORT_SPEC = re.compile(r"^(?P<low>[0-9]{1,5})(?:-(?P<high>[0-9]{1,5}))?/(?P<proto>tcp|udp)$")
_PORT_MAX = 65535


def _network(value):
    return ipaddress.ip_network(str(value).strip(), strict=False)


def cidr_invalid(values):
    """Return the entries of ``values`` that are not an IPv4 or IPv6 address or network."""
    bad = []
    for value in values or []:
        try:
            _network(value)
        except ValueError:
            bad.append(value)
    return bad


def cidr_contains(values, address):
    """Tell whether ``address`` lies in any of the networks ``values``."""
    try:
        ip = ipaddress.ip_address(str(address).strip())
    except ValueError:
        return False
    for value in values or []:
        try:
            network = _network(value)
        except ValueError:
            continue
        if network.version == ip.version and ip in network:
            return True
    return False


def cidr_family(values, version):
    """Return the networks of ``values`` of IP ``version`` (4 or 6), normalised, sorted, unique."""
    found = set()
    for value in values or []:
        network = _network(value)
        if network.version == int(version):
            found.add(network)
    return [str(network) for network in sorted(found)]


def port_invalid(values):
    """Return the entries of ``values`` that are not ``PORT/PROTO`` or ``LOW-HIGH/PROTO``.

    Ports run from 1 to 65535, a range's low end is not above its high end,
    and the protocol is tcp or udp.
    """
    bad = []
    for value in values or []:
        match = _PORT_SPEC.match(str(value).strip())
        if match is None:
            bad.append(value)
            continue
        low = int(match["low"])
        high = int(match["high"] or low)
        if not 1 <= low <= high <= _PORT_MAX:
            bad.append(value)
    return bad


def host_addresses(hostnames, hostvars):
    """Return the address of each host: its ``ansible_host``, else its inventory name."""
    return [str(hostvars[name].get("ansible_host", name)) for name in hostnames or []]


class FilterModule:
    """Register the filters with Ansible."""

    def filters(self):
        """Return the filters by name."""
        return {
            "cidr_invalid": cidr_invalid,
            "cidr_contains": cidr_contains,
            "cidr_family": cidr_family,
            "port_invalid": port_invalid,
            "host_addresses": host_addresses,
        }
