"""The helpers a script may call, by name, from every family (validation, effects, HTTP,
state, the endpoint answer `respond`).

A helper used outside its phases is a validation error naming the phase (`validate`) and,
if the script runs anyway, a `PhaseError` naming the phase when the call is reached.
Helpers that need the run (to record intents, to bound a regular expression) receive a
`HelperHost` as first argument; the engine binds it per run.
"""

from __future__ import annotations

from collections.abc import Mapping

from alloy_scripting.bridge import effects, http, respond, validation
from alloy_scripting.bridge.host import HelperSpec
from alloy_scripting.bridge.state import namespace as state
from alloy_scripting.model.enums import ExecutionPhase

REGISTRY: Mapping[str, HelperSpec] = {
    spec.name: spec
    for family in (validation, effects, http, state, respond)
    for spec in family.HELPERS
}


def helpers_for(phase: ExecutionPhase) -> list[str]:
    """Names of the helpers available in `phase`."""
    return [name for name, spec in REGISTRY.items() if phase in spec.phases]
