"""The tenant allow-list: entries, canonical forms and matching."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.http.allowlist import AllowList, AllowListError, parse_entry


@pytest.mark.parametrize(
    ("entry", "canonical"),
    [
        ("api.example.com", "api.example.com"),
        (" API.Example.com. ", "api.example.com"),
        ("api.example.com:8443", "api.example.com:8443"),
        ("*.hooks.example.com", "*.hooks.example.com"),
        ("*.hooks.example.com:9000", "*.hooks.example.com:9000"),
        ("127.0.0.1:8081", "127.0.0.1:8081"),
        ("2130706433:8081", "127.0.0.1:8081"),
        ("0x7f.1", "127.0.0.1"),
        ("[::1]:8080", "[::1]:8080"),
        ("[::ffff:127.0.0.1]", "127.0.0.1"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_entries_are_stored_canonical(entry: str, canonical: str) -> None:
    assert str(parse_entry(entry)) == canonical


@pytest.mark.parametrize(
    "entry",
    ["", "*", "*.com", "*.127.0.0.1", "http://api.example.com", "api.example.com/path",
     "user@api.example.com", "api.example.com:0", "api.example.com:65536", "api.example.com:x",
     "::1", "[::1", "a..b", "a b.com", "x" * 300, "api.example.com:80:81", "1.2.3.4.5"],
)  # fmt: skip
def test_bad_entries_are_refused(entry: str) -> None:
    with pytest.raises(ValueError):
        parse_entry(entry)


def test_parse_lists_every_bad_entry_by_index() -> None:
    with pytest.raises(AllowListError) as caught:
        AllowList.parse(["ok.example.com", "http://x", "fine.example", "*.com"])
    assert [index for index, _ in caught.value.errors] == [1, 3]
    assert AllowList.parse(["a.example", "A.example."]).as_strings() == ["a.example"]


def test_matching() -> None:
    allow = AllowList.parse(["api.example.com", "*.hooks.example.com", "127.0.0.1:8081"])
    assert allow.match("api.example.com", 443) is not None
    assert allow.match("api.example.com", 80) is not None
    assert allow.match("api.example.com", 8080) is None  # no port: 80 and 443 only
    assert allow.match("evil-api.example.com", 443) is None
    assert allow.match("api.example.com.evil.com", 443) is None
    assert allow.match("a.hooks.example.com", 443) is not None
    assert allow.match("a.b.hooks.example.com", 443) is not None
    assert allow.match("hooks.example.com", 443) is None  # the wildcard is for subdomains
    assert allow.match("xhooks.example.com", 443) is None
    assert allow.match("127.0.0.1", 8081) is not None
    assert allow.match("127.0.0.1", 8082) is None
    assert AllowList().match("api.example.com", 443) is None  # deny by default


def test_exact_entries_win_over_wildcards() -> None:
    allow = AllowList.parse(["*.example.com", "api.example.com"])
    entry = allow.match("api.example.com", 443)
    assert entry is not None and not entry.wildcard
