"""Per-script overrides of the engine's run limits (`Script.limits`).

A script may ask for more (or less) time, operations and call depth than the deployment's
defaults, never more than the deployment's maxima (`ALLOY_LIMIT_MAX_*`): the API refuses a
request above a maximum with a validation error naming it (`ScriptLimits.above`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: Absolute bounds, whatever a deployment allows (a script run is a request's latency).
HARD_MAX_TIMEOUT_MS = 60_000
HARD_MAX_OPERATIONS = 100_000_000
HARD_MAX_CALL_DEPTH = 200


class ScriptLimits(BaseModel):
    """Limits of one script's runs; unset fields keep the deployment's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timeout_ms: int | None = Field(
        default=None, ge=1, le=HARD_MAX_TIMEOUT_MS, description="Wall time of one run."
    )
    max_operations: int | None = Field(
        default=None,
        ge=1,
        le=HARD_MAX_OPERATIONS,
        description="Loop iterations, comprehension steps and calls of one run.",
    )
    max_call_depth: int | None = Field(
        default=None, ge=1, le=HARD_MAX_CALL_DEPTH, description="Nesting of function calls."
    )

    def above(self, maxima: ScriptLimits) -> list[tuple[str, int, int]]:
        """The fields set above `maxima`'s: (field, asked, maximum)."""
        found: list[tuple[str, int, int]] = []
        for name in type(self).model_fields:
            asked, most = getattr(self, name), getattr(maxima, name)
            if asked is not None and most is not None and asked > most:
                found.append((name, asked, most))
        return found

    @staticmethod
    def setting_of(field: str) -> str:
        """The deployment setting bounding `field` (named in validation errors)."""
        return "ALLOY_LIMIT_MAX_" + field.removeprefix("max_").upper()

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in type(self).model_fields)
