"""What publishing a template means, the same in every `TemplateStore`."""

from __future__ import annotations

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.templates import Template


def owner_of(template: Template) -> str:
    """The tenant a template is published under (built-in templates are not stored)."""
    if template.owner is None:
        raise ValueError("a published template has an owner (its tenant)")
    return template.owner


def published(template: Template, previous: Template | None) -> Template:
    """`template` as stored over `previous`: the version bumped, the first creation time kept."""
    now = utc_now()
    return template.model_copy(
        update={
            "version": 1 if previous is None else previous.version + 1,
            "created_at": now if previous is None else previous.created_at,
            "updated_at": now,
        }
    )
