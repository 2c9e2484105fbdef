"""bridge layer: the phase helpers scripts may call (`validate_*`, `emit`, reserved `http_*`)."""

from alloy_scripting.bridge.helpers import (
    REGISTRY,
    HelperHost,
    HelperNotConfiguredError,
    HelperSpec,
    PhaseError,
    helpers_for,
    phase_error_message,
)

__all__ = [
    "REGISTRY",
    "HelperHost",
    "HelperNotConfiguredError",
    "HelperSpec",
    "PhaseError",
    "helpers_for",
    "phase_error_message",
]
