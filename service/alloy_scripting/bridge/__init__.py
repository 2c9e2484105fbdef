"""The bridge: every family of helpers a script may call, one module per family
(`validation`, `effects`, reserved `http`, `state`, the endpoint answer `respond`), collected
by `registry`; what they share in `host`."""

from alloy_scripting.bridge.host import (
    HelperHost,
    HelperNotConfiguredError,
    HelperSpec,
    PhaseError,
    phase_error_message,
)
from alloy_scripting.bridge.registry import REGISTRY, helpers_for

__all__ = [
    "REGISTRY",
    "HelperHost",
    "HelperNotConfiguredError",
    "HelperSpec",
    "PhaseError",
    "helpers_for",
    "phase_error_message",
]
