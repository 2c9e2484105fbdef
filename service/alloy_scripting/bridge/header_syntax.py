"""What an HTTP header may look like, for every header a script writes (the HTTP bridge's
outgoing requests, `respond()`'s answers): a name is an RFC 9110 token, a value printable
ASCII or tab (no CR, LF, NUL or other control characters: no header injection).

The patterns end with ``\\Z``, not ``$``: ``$`` also matches before a final newline."""

from __future__ import annotations

import re

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
_VALUE = re.compile(r"[\t\x20-\x7e]*\Z")


def is_header_name(name: str, max_length: int) -> bool:
    """``name`` is a token of 1 to ``max_length`` characters."""
    return len(name) <= max_length and _TOKEN.match(name) is not None


def is_header_value(value: str, max_length: int) -> bool:
    """``value`` is at most ``max_length`` printable ASCII characters or tabs."""
    return len(value) <= max_length and _VALUE.match(value) is not None
