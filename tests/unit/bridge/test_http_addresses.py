"""Hosts as the resolver reads them, and which addresses the bridge may connect to."""

from __future__ import annotations

import ipaddress
import socket

import pytest

from alloy_scripting.bridge.http.addresses import (
    Reach,
    canonical_host,
    carried_ipv4,
    ip_literal,
    parse_networks,
    reachability,
)

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0x7f.1",
     "017700000001", "0177.0.0.1", "0177.0.0.01", "127.0.0.1.", "::ffff:127.0.0.1",
     "[::ffff:7f00:1]", "::127.0.0.1"],
)  # fmt: skip
def test_every_spelling_is_the_address_the_resolver_makes_of_it(host: str) -> None:
    assert ip_literal(host) == LOOPBACK
    if ":" not in host:
        assert socket.inet_aton(host.removesuffix(".")) == LOOPBACK.packed


@pytest.mark.parametrize(
    "host", ["1.2.3.4.5", "256.1.1.1", "0x", "0x1.0x2.0x3.0x4.0x5", "4294967296", "fe80::1%eth0"]
)
def test_numeric_hosts_that_are_no_address_are_refused(host: str) -> None:
    with pytest.raises(ValueError):
        ip_literal(host)


@pytest.mark.parametrize("host", ["example.com", "cafe.bad", "a1.b2", "1a.example", "x.0a"])
def test_names_are_names(host: str) -> None:
    assert ip_literal(host) is None


def test_canonical_host() -> None:
    assert canonical_host("API.Example.COM.") == ("api.example.com", None)
    assert canonical_host("2130706433") == ("127.0.0.1", LOOPBACK)
    assert canonical_host("[2001:DB8::1]")[0] == "2001:db8::1"
    for bad in ("a..b", "-a.com", "a_b!.com", "x" * 64 + ".com", ""):
        with pytest.raises(ValueError):
            canonical_host(bad)


@pytest.mark.parametrize(
    ("address", "carried"),
    [
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("::10.0.0.1", "10.0.0.1"),
        ("64:ff9b::a00:1", "10.0.0.1"),
        ("2002:a00:1::", "10.0.0.1"),
        ("2001:db8::1", None),
    ],
)
def test_carried_ipv4(address: str, carried: str | None) -> None:
    found = carried_ipv4(ipaddress.ip_address(address))
    assert (str(found) if found else None) == carried


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.0.1", "169.254.169.254", "100.64.0.1",
     "100.127.255.255", "0.0.0.0", "224.0.0.1", "239.255.255.250", "240.0.0.1",
     "255.255.255.255", "192.0.0.1", "198.18.0.1", "::", "::1", "fe80::1", "fc00::1",
     "fd00:ec2::254", "ff02::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
     "2002:7f00:1::", "2002:a9fe:a9fe::", "64:ff9b:1::1", "2001:db8::1", "fec0::1"],
)  # fmt: skip
def test_non_public_addresses_are_refused(address: str) -> None:
    assert reachability(ipaddress.ip_address(address)) is Reach.REFUSED


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::"]
)
def test_public_addresses_pass(address: str) -> None:
    assert reachability(ipaddress.ip_address(address)) is Reach.GLOBAL


def test_operator_networks_open_only_what_they_list() -> None:
    networks = parse_networks("127.0.0.0/8, 10.1.0.0/16")
    assert reachability(LOOPBACK, networks) is Reach.PRIVATE_LISTED
    assert reachability(ipaddress.ip_address("::ffff:127.0.0.1"), networks) is Reach.PRIVATE_LISTED
    assert reachability(ipaddress.ip_address("10.1.9.9"), networks) is Reach.PRIVATE_LISTED
    assert reachability(ipaddress.ip_address("10.2.0.1"), networks) is Reach.REFUSED
    assert reachability(ipaddress.ip_address("169.254.169.254"), networks) is Reach.REFUSED
    assert reachability(ipaddress.ip_address("::1"), networks) is Reach.REFUSED
    with pytest.raises(ValueError, match="not a CIDR"):
        parse_networks("10.0.0.0/8, localhost")
