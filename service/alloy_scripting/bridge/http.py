"""HTTP helpers (`http_get`, `http_post`, `http_request`): reserved. Offered in the same
phases as `emit`, they fail with "HTTP helpers are not configured on this service" until an
HTTP bridge backs them."""

from __future__ import annotations

from typing import Any

from alloy_scripting.bridge.host import EFFECT_PHASES, HelperNotConfiguredError, HelperSpec


def _not_configured(*args: Any, **kwargs: Any) -> Any:
    raise HelperNotConfiguredError("HTTP helpers are not configured on this service")


HELPERS = (
    HelperSpec("http_get", _not_configured, EFFECT_PHASES, reserved=True),
    HelperSpec("http_post", _not_configured, EFFECT_PHASES, reserved=True),
    HelperSpec("http_request", _not_configured, EFFECT_PHASES, reserved=True),
)
