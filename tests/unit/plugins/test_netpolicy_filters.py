"""The filters the hardening role checks its firewall input with."""

import importlib.util

import pytest


@pytest.fixture(scope="module")
def netpolicy(project):
    path = project / "plugins" / "filter" / "netpolicy.py"
    spec = importlib.util.spec_from_file_location("netpolicy", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("spec", ["22/tcp", "80-443/tcp", "53/udp", "1/tcp", "65535/udp"])
def test_good_port_specifications_pass(netpolicy, spec):
    assert netpolicy.port_invalid([spec]) == []


@pytest.mark.parametrize(
    "spec", ["80", "80/tpc", "0/tcp", "65536/tcp", "443-80/tcp", "http/tcp", "22/TCP", "-1/tcp", ""]
)
def test_bad_port_specifications_are_named(netpolicy, spec):
    assert netpolicy.port_invalid(["22/tcp", spec]) == [spec]


def test_cidrs_are_checked_and_sorted_by_family(netpolicy):
    values = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "10.0.0.0/8", "10.231.52.300/24", "x"]
    assert netpolicy.cidr_invalid(values) == ["10.231.52.300/24", "x"]
    good = values[:4]
    assert netpolicy.cidr_family(good, 4) == ["10.0.0.0/8", "192.0.2.7/32"]
    assert netpolicy.cidr_family(good, 6) == ["2001:db8::/32"]


@pytest.mark.parametrize(
    ("cidrs", "address", "inside"),
    [
        (["10.231.52.1/32"], "10.231.52.1", True),
        (["10.231.52.0/24"], "10.231.52.77", True),
        (["192.0.2.0/24"], "10.231.52.1", False),
        (["2001:db8::/32"], "10.231.52.1", False),
        (["10.0.0.0/8"], "not an address", False),
        ([], "10.231.52.1", False),
    ],
)
def test_controller_address_must_be_inside_the_admin_cidrs(netpolicy, cidrs, address, inside):
    assert netpolicy.cidr_contains(cidrs, address) is inside


def test_host_addresses_fall_back_to_the_inventory_name(netpolicy):
    hostvars = {"web1": {"ansible_host": "10.231.52.20"}, "db1": {}}
    assert netpolicy.host_addresses(["web1", "db1"], hostvars) == ["10.231.52.20", "db1"]
