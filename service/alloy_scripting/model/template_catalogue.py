"""The built-in templates: one YAML file per template in `builtin_templates/`, shipped as
package data (``pyproject.toml`` `package-data`), read once per process."""

from __future__ import annotations

import functools
from importlib import resources
from types import MappingProxyType
from typing import Any

import yaml

from alloy_scripting.model.templates import Template

PACKAGE = "alloy_scripting.model"
FOLDER = "builtin_templates"


def _load(text: str, name: str) -> Template:
    data: Any = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"built-in template {name}: not a mapping")
    template = Template.model_validate({**data, "owner": None})
    if f"{template.id}.yaml" != name:
        raise ValueError(f"built-in template {name}: its id is {template.id!r}")
    return template


@functools.cache
def builtin_templates() -> MappingProxyType[str, Template]:
    """Every built-in template by id, sorted by id."""
    folder = resources.files(PACKAGE).joinpath(FOLDER)
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            template = _load(entry.read_text(encoding="utf-8"), entry.name)
            found[template.id] = template
    return MappingProxyType(found)


def builtin_template(template_id: str) -> Template | None:
    return builtin_templates().get(template_id)
