"""Request and response bodies of ``/scripts/{id}/shadow`` (shadow runs, `runner.shadow`)."""

from __future__ import annotations

from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from alloy_scripting.model.script import ScriptSource
from alloy_scripting.model.shadow import MAX_SHADOW_DAYS, Shadow, ShadowSummary


class ShadowIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: ScriptSource = Field(description="The candidate version's source.")
    sample: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of live events the candidate also runs."
    )
    until: AwareDatetime = Field(
        description=f"When it stops by itself: in the future, at most {MAX_SHADOW_DAYS} days on."
    )


class ShadowOut(BaseModel):
    """A shadow run and the comparisons so far (every instance's)."""

    id: str
    script_id: str
    script_version: int
    source: str
    sample: float
    until: AwareDatetime
    started_at: AwareDatetime
    started_by: str | None
    running: bool = Field(description="False once `until` has passed.")
    summary: ShadowSummary

    @classmethod
    def of(cls, shadow: Shadow, summary: ShadowSummary) -> ShadowOut:
        data: dict[str, Any] = shadow.model_dump(exclude={"tenant_id"})
        return cls(**data, running=shadow.running(), summary=summary)
