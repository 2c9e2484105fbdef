"""Hosts and addresses as the resolver sees them, and which addresses are reachable.

`ip_literal` reads a URL host the way `getaddrinfo` would: besides the canonical forms, the
C resolver (``inet_aton``) accepts ``2130706433``, ``0x7f000001``, ``017700000001``,
``127.1`` and mixes of those, all meaning 127.0.0.1. A host whose last label is a number is
an address in one of those spellings or it is refused (as the WHATWG URL parser does), so
no spelling reaches the resolver unchecked.

`reachability` decides whether an address may be connected to. An IPv6 address that
carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, NAT64
``64:ff9b::/96``, 6to4 ``2002::/16``) is judged by the address it carries.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from enum import Enum

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$", re.IGNORECASE)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")


class Reach(Enum):
    """How an address may be reached."""

    GLOBAL = "global"
    #: non-global, but inside a network the operator listed (`ALLOY_EGRESS_PRIVATE_NETWORKS`)
    PRIVATE_LISTED = "private_listed"
    REFUSED = "refused"


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` spells, None for a name; `ValueError` for a host that looks like
    an address (an IPv6 form, or a last label that is a number) but is not a valid one."""
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        if "%" in host:
            raise ValueError("IPv6 zone identifiers are not allowed")
        return carried_ipv4_if_mapped(ipaddress.IPv6Address(host))
    host = host.removesuffix(".")
    last = host.rpartition(".")[2]
    if not _NUMERIC_LABEL.match(last):
        return None
    if not all(_NUMERIC_LABEL.match(label) for label in host.split(".")):
        raise ValueError(f"{host!r} is neither a host name nor an IPv4 address")
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        raise ValueError(f"{host!r} is not a valid IPv4 address") from None


def carried_ipv4_if_mapped(address: ipaddress.IPv6Address) -> IPAddress:
    """IPv4-mapped and IPv4-compatible addresses *are* IPv4 destinations on a dual-stack
    socket; every other address is itself."""
    mapped = address.ipv4_mapped
    if mapped is not None:
        return mapped
    value = int(address)
    if value >> 32 == 0 and value > 1:  # ::a.b.c.d, but not :: or ::1
        return ipaddress.IPv4Address(value)
    return address


def carried_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, NAT64, 6to4), if any."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    unwrapped = carried_ipv4_if_mapped(address)
    if isinstance(unwrapped, ipaddress.IPv4Address):
        return unwrapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def is_public(address: IPAddress) -> bool:
    """Globally reachable unicast: not loopback, private, link-local (169.254.169.254
    included), CGNAT, multicast, reserved, unspecified or otherwise special."""
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    if isinstance(address, ipaddress.IPv6Address) and (
        address in _NAT64_LOCAL or address.is_site_local
    ):
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_loopback
        or address.is_link_local
        or address.is_unspecified
        or address.is_private
    )


def parse_networks(spec: str | Iterable[str]) -> tuple[IPNetwork, ...]:
    """Operator CIDRs (comma-separated or a list); `ValueError` names a bad one."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    networks: list[IPNetwork] = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"not a CIDR network: {item!r}") from None
    return tuple(networks)


def _listed(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def reachability(address: IPAddress, private_networks: Iterable[IPNetwork] = ()) -> Reach:
    """Whether `address` may be connected to: public, private but operator-listed, or not.
    An IPv6 address carrying an IPv4 one is judged by the address it carries (the IPv6
    form is only its encoding)."""
    judged = carried_ipv4(address) or address
    if is_public(judged):
        return Reach.GLOBAL
    if _listed(judged, private_networks):
        return Reach.PRIVATE_LISTED
    return Reach.REFUSED


_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
MAX_HOST = 253


def canonical_host(host: str) -> tuple[str, IPAddress | None]:
    """A URL or allow-list host (ASCII, IDNA already applied) as it is compared and sent:
    a name lower-cased without its trailing dot, or an address in canonical form (IPv6
    without brackets), with that address. `ValueError` for anything else."""
    address = ip_literal(host)
    if address is not None:
        return str(address), address
    name = host.lower().removesuffix(".")
    if not name or len(name) > MAX_HOST or not all(_LABEL.match(p) for p in name.split(".")):
        raise ValueError(f"{host[:80]!r} is not a valid host name")
    return name, None
