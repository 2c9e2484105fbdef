"""A tenant's egress allow-list: which hosts (and ports) its scripts may call.

Entries: ``host`` or ``host:port``; ``*.suffix`` matches every subdomain of ``suffix`` (not
``suffix`` itself); an entry without a port allows 80 and 443. IPv6 addresses are written
in brackets (``[2001:db8::1]:8443``). Entries are stored in canonical form: names
lower-cased and IDNA-encoded, addresses in canonical form whatever their spelling
(``2130706433:8081`` is stored as ``127.0.0.1:8081``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from alloy_scripting.bridge.http.addresses import canonical_host

MAX_ENTRIES = 200
MAX_ENTRY_LENGTH = 270
DEFAULT_PORTS = (80, 443)


@dataclass(frozen=True, slots=True)
class AllowEntry:
    host: str  # canonical; for a wildcard, the suffix without "*."
    port: int | None
    wildcard: bool = False
    is_address: bool = False

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        text = f"*.{host}" if self.wildcard else host
        return text if self.port is None else f"{text}:{self.port}"

    def matches(self, host: str, port: int) -> bool:
        if port not in ((self.port,) if self.port is not None else DEFAULT_PORTS):
            return False
        if self.wildcard:
            return host.endswith("." + self.host)
        return host == self.host


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"port {text[:8]!r} must be a number from 1 to 65535")
    return int(text)


def _split_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError("an IPv6 address is written [address] or [address]:port")
        return host, _port(rest[1:]) if rest else None
    if text.count(":") > 1:
        raise ValueError("write an IPv6 address in brackets: [address] or [address]:port")
    host, colon, port = text.partition(":")
    return host, _port(port) if colon else None


def _ascii(host: str) -> str:
    if host.isascii():
        return host
    import httpx  # IDNA as URLs get it; imported here: worker processes never need it

    try:
        return httpx.URL(f"http://{host}/").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        raise ValueError(f"{host[:80]!r} is not a valid host name") from None


def parse_entry(text: str) -> AllowEntry:
    """One entry, or `ValueError` saying what is wrong with it."""
    if not isinstance(text, str):
        raise ValueError("an entry is a string")
    raw = text.strip()
    if not raw or len(raw) > MAX_ENTRY_LENGTH:
        raise ValueError(f"an entry is 1 to {MAX_ENTRY_LENGTH} characters")
    if any(c in raw for c in "/@?#\\ \t\r\n\x00"):
        raise ValueError("an entry is host or host:port (no scheme, path, user or spaces)")
    wildcard = raw.startswith("*.")
    host_text, port = _split_port(raw[2:] if wildcard else raw)
    host, address = canonical_host(_ascii(host_text))
    if wildcard and (address is not None or "." not in host):
        raise ValueError("a wildcard is *.domain with a domain of at least two labels")
    return AllowEntry(host, port, wildcard=wildcard, is_address=address is not None)


@dataclass(frozen=True, slots=True)
class AllowList:
    entries: tuple[AllowEntry, ...] = ()

    @classmethod
    def parse(cls, entries: Iterable[str]) -> AllowList:
        """Every entry parsed; `AllowListError` lists the bad ones by index."""
        items = list(entries)
        if len(items) > MAX_ENTRIES:
            raise AllowListError([(MAX_ENTRIES, f"at most {MAX_ENTRIES} entries")])
        parsed: list[AllowEntry] = []
        errors: list[tuple[int, str]] = []
        for index, item in enumerate(items):
            try:
                entry = parse_entry(item)
            except ValueError as exc:
                errors.append((index, str(exc)))
                continue
            if entry not in parsed:
                parsed.append(entry)
        if errors:
            raise AllowListError(errors)
        return cls(tuple(parsed))

    def as_strings(self) -> list[str]:
        return [str(entry) for entry in self.entries]

    def match(self, host: str, port: int) -> AllowEntry | None:
        """The first entry allowing the canonical `host` on `port`; exact entries first."""
        found = None
        for entry in self.entries:
            if entry.matches(host, port):
                if not entry.wildcard:
                    return entry
                found = found or entry
        return found


class AllowListError(ValueError):
    """Bad entries: (index, message) pairs."""

    def __init__(self, errors: list[tuple[int, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"allow[{i}]: {m}" for i, m in errors[:5]))
