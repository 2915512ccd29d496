import pytest

from e5ops.errors import UsageError
from e5ops.lab.hosts import DEFAULT_HOSTS, MAX_HOSTS, kind_of, parse_host_list, plan_hosts


def test_default_hosts_get_their_groups_and_fixed_addresses():
    planned = {h.name: h for h in plan_hosts(DEFAULT_HOSTS, "10.231.10.0/24")}
    assert planned["lb1"].address == "10.231.10.10"
    assert planned["web1"].address == "10.231.10.20"
    assert planned["web3"].address == "10.231.10.22"
    assert planned["mon1"].address == "10.231.10.100"
    assert planned["backup1"].address == "10.231.10.110"
    assert planned["ca1"].address == "10.231.10.130"
    assert planned["ca1"].group == "ca_servers"
    assert planned["web2"].group == "webservers"
    assert planned["lb1"].group == "loadbalancers"


def test_adding_a_host_moves_no_other_host():
    before = {h.name: h.address for h in plan_hosts(("web1", "web2"), "10.0.5.0/24")}
    after = {h.name: h.address for h in plan_hosts(("web1", "web2", "web4"), "10.0.5.0/24")}
    assert {name: after[name] for name in before} == before
    assert after["web4"] not in before.values()


def test_ranges_expand():
    assert parse_host_list("lb1,web1-3, mon1") == ("lb1", "web1", "web2", "web3", "mon1")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Web1", "invalid lab host name"),
        ("web0", "invalid lab host name"),
        ("web1;rm", "invalid lab host name"),
        ("dns1", "unknown kind"),
        ("lb10", "out of range"),
        ("web1,web1", "given twice"),
        ("web3-1", "runs backwards"),
        (",", "no lab hosts"),
        (f"web1-{MAX_HOSTS + 1}", "at most"),
    ],
)
def test_bad_host_lists_are_refused_with_the_reason(text, fragment):
    with pytest.raises(UsageError, match=fragment) as caught:
        parse_host_list(text)
    assert caught.value.hint


def test_kind_of_returns_number():
    kind, number = kind_of("backup2")
    assert (kind.group, number) == ("backup_servers", 2)
