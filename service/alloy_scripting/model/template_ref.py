"""`TemplateRef`: where a script instantiated from a template came from, and the parameters
it runs with (the script sees them as `config`, plain data, never as code)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alloy_scripting.model.json_check import check_json

#: Template ids: lower-case letters, digits and ``_ . -``; also a URL path segment.
TEMPLATE_ID_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
MAX_TEMPLATE_ID_LENGTH = 64


class TemplateRef(BaseModel):
    """The template (id, version) a script was made from and its validated parameters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_TEMPLATE_ID_LENGTH, pattern=TEMPLATE_ID_PATTERN)
    version: int = Field(ge=1)
    owner: str | None = Field(default=None, description="None: a built-in template.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Validated against the template's schema; `config`."
    )

    @model_validator(mode="before")
    @classmethod
    def _safe_json(cls, data: Any) -> Any:
        check_json(data)
        return data
