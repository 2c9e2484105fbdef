"""`b64encode`, `b64decode`, `sha256`, `uuid4`: str in, str out."""

from __future__ import annotations

import base64
import binascii
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from alloy_scripting.engine.guards import Guards


def make_functions(guards: Guards) -> dict[str, Callable[..., Any]]:
    """`b64encode`, `b64decode`, `sha256`, `uuid4`: str in, str out."""

    def b64encode(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("b64encode() argument must be str")
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        return guards.check_size(encoded)  # type: ignore[no-any-return]

    def b64decode(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("b64decode() argument must be str")
        guards.check_size(text)
        try:
            raw = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise ValueError("invalid base64 text") from None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("decoded base64 is not UTF-8 text") from None

    def sha256(text: str) -> str:
        if not isinstance(text, str):
            raise TypeError("sha256() argument must be str")
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def uuid4() -> str:
        return str(uuid.uuid4())

    return {"b64encode": b64encode, "b64decode": b64decode, "sha256": sha256, "uuid4": uuid4}
