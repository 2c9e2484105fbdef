"""The egress policy: which URL a call may reach, vetted down to the address to connect to.

Deny by default. A URL passes when it is http or https without userinfo, its host and
port are in the tenant's allow-list, and every address its host resolves to is public
(or inside a network the operator listed, and then only for a host the allow-list names
exactly, not by a wildcard). The host is resolved once, here; the connection goes to the
vetted address and nothing else (`transport`), so a second DNS answer never matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import httpx

from alloy_scripting.bridge.http.addresses import (
    IPAddress,
    IPNetwork,
    Reach,
    canonical_host,
    carried_ipv4_if_mapped,
    reachability,
)
from alloy_scripting.bridge.http.allowlist import AllowEntry, AllowList
from alloy_scripting.bridge.http.errors import EgressDenied, HttpError, InvalidHttpRequest

MAX_URL = 8192
SCHEMES = {"http": 80, "https": 443}
_FORBIDDEN_IN_URL = frozenset(chr(c) for c in (*range(0x21), 0x7F))

#: (host, port) -> the addresses it resolves to
Resolver = Callable[[str, int], Awaitable[Sequence[IPAddress]]]


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """`getaddrinfo` on the event loop's executor (TCP only)."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Destination:
    """A parsed, well-formed URL (not yet checked against any allow-list)."""

    url: httpx.URL  # the host in canonical form, no fragment
    scheme: str
    host: str  # canonical: a lower-case name, or an address (IPv6 without brackets)
    port: int
    address: IPAddress | None  # when the host is an address literal

    @property
    def path(self) -> str:
        return self.url.path


@dataclass(frozen=True, slots=True)
class Target:
    """A destination the policy allowed, with the one address to connect to."""

    destination: Destination
    address: IPAddress
    entry: AllowEntry

    @property
    def url(self) -> httpx.URL:
        return self.destination.url


def parse_url(url: object, params: object = None) -> Destination:
    """`url` (with `params` merged into its query) as a `Destination`, or the error saying
    why not: `InvalidHttpRequest` for a malformed URL, `EgressDenied` for a scheme other
    than http/https or userinfo."""
    if isinstance(url, httpx.URL):
        parsed = url
    else:
        if not isinstance(url, str):
            raise InvalidHttpRequest("url must be a string")
        if not url or len(url) > MAX_URL:
            raise InvalidHttpRequest(f"url must be 1 to {MAX_URL} characters")
        if not _FORBIDDEN_IN_URL.isdisjoint(url):
            raise InvalidHttpRequest("url must not contain spaces or control characters")
        try:
            if "@" in urllib.parse.urlsplit(url).netloc:
                raise EgressDenied.by(
                    "userinfo", "URLs with user information (user@host) are refused"
                )
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise InvalidHttpRequest(f"malformed url: {exc}") from None
    scheme = parsed.scheme
    if scheme not in SCHEMES:
        raise EgressDenied.by("scheme", f"only http and https URLs are allowed, not {scheme!r}")
    if parsed.userinfo:
        raise EgressDenied.by("userinfo", "URLs with user information (user@host) are refused")
    raw_host = parsed.raw_host.decode("ascii")
    if not raw_host:
        raise InvalidHttpRequest("malformed url: no host")
    try:
        host, address = canonical_host(raw_host)
    except ValueError as exc:
        raise InvalidHttpRequest(f"malformed url: {exc}") from None
    port = parsed.port if parsed.port is not None else SCHEMES[scheme]
    if not 0 < port < 65536:
        raise InvalidHttpRequest("malformed url: port must be from 1 to 65535")
    try:
        canonical = parsed
        if host != raw_host or parsed.fragment:  # re-parsing costs: only when it changes
            canonical = parsed.copy_with(host=host, fragment=None)
        if params is not None:
            canonical = canonical.copy_merge_params(params)  # type: ignore[arg-type]
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InvalidHttpRequest(f"malformed url or params: {exc}") from None
    return Destination(canonical, scheme, host, port, address)


def _where(destination: Destination) -> str:
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return f"{host}:{destination.port}"


class EgressPolicy:
    """Vets destinations for one service: the operator's networks and one resolver."""

    def __init__(
        self, private_networks: Sequence[IPNetwork] = (), resolver: Resolver = system_resolver
    ) -> None:
        self.private_networks = tuple(private_networks)
        self._resolve = resolver

    async def vet(self, destination: Destination, allow: AllowList) -> Target:
        """The `Target` to connect to, or `EgressDenied` naming the rule that refused it
        (`HttpError` ``dns`` when the name does not resolve)."""
        entry = allow.match(destination.host, destination.port)
        if entry is None:
            raise EgressDenied.by(
                "not_in_allow_list", f"{_where(destination)} is not in the tenant's allow-list"
            )
        addresses = await self._addresses(destination)
        for address in addresses:
            reach = reachability(address, self.private_networks)
            if reach is Reach.REFUSED:
                raise EgressDenied.by(
                    "non_public_address",
                    f"{destination.host} is {address}, not a public address"
                    if destination.address is not None
                    else f"{destination.host} resolves to {address}, not a public address",
                )
            if reach is Reach.PRIVATE_LISTED and entry.wildcard:
                raise EgressDenied.by(
                    "private_needs_exact_entry",
                    f"{destination.host} resolves to the private address {address}; a "
                    "wildcard entry does not open private networks, name the host exactly",
                )
        return Target(destination, addresses[0], entry)

    async def _addresses(self, destination: Destination) -> list[IPAddress]:
        if destination.address is not None:
            return [destination.address]
        try:
            found = await self._resolve(destination.host, destination.port)
        except (OSError, UnicodeError, ValueError):
            found = []
        addresses: list[IPAddress] = []
        for address in found:
            if isinstance(address, ipaddress.IPv6Address):
                address = carried_ipv4_if_mapped(address)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise HttpError(f"cannot resolve {destination.host}", reason="dns")
        return addresses
