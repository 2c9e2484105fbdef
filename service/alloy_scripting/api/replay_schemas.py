"""The request and answer of a replay (`POST /executions/{id}/replay`), shared by the
REST route, the MCP tool and the REST client."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from alloy_scripting.api.schemas import VersionNumber, _Request
from alloy_scripting.model.replay import ReplayDiff
from alloy_scripting.model.script import ScriptSource


class ReplayIn(_Request):
    """At most one of `version` and `source`; neither: the script's current version."""

    version: VersionNumber | None = Field(default=None, description="A stored version.")
    source: ScriptSource | None = Field(
        default=None, description="An unsaved source (validated first for the record's phase)."
    )

    @model_validator(mode="after")
    def _one_at_most(self) -> ReplayIn:
        if self.version is not None and self.source is not None:
            raise ValueError("give version or source, not both")
        return self


class ReplayOut(BaseModel):
    execution_id: str = Field(description="The replayed record.")
    script_id: str
    recorded_version: int = Field(description="The version the recorded run ran.")
    version: int | None = Field(description="The version replayed (None: an unsaved source).")
    result: dict[str, Any] = Field(description="The replay's `ExecutionResult`.")
    intents: list[dict[str, Any]] = Field(
        description="The side effects the replay asked for and did not perform (emit, http)."
    )
    diff: ReplayDiff = Field(description="How the replay differs from the recorded run.")
