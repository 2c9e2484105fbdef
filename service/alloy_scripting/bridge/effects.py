"""`emit(event_type, payload)`: records a side-effect intent in the result (the runner
publishes intents only when the run succeeds). Offered after the write and on demand
(`EFFECT_PHASES`)."""

from __future__ import annotations

from typing import Any

from alloy_scripting.bridge.host import EFFECT_PHASES, HelperHost, HelperSpec


def emit(host: HelperHost, event_type: Any, payload: Any = None) -> None:
    """Record the intent to publish `event_type` with `payload` (plain JSON data)."""
    if isinstance(event_type, str) and not event_type.isascii():
        try:
            event_type.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("emit() event_type must be UTF-8 text (no lone surrogates)") from None
    host.emit_intent(event_type, payload)


HELPERS = (HelperSpec("emit", emit, EFFECT_PHASES, needs_host=True),)
