"""Script templates: a source, a JSON Schema of its parameters, a suggested trigger and the
fixtures that exercise it.

Parameters are data. Instantiating a template validates them against `params_schema`
(`params_for`) and stores them on the new script (`Script.template`, a `TemplateRef`); the
script reads them as `config`, a fresh copy of plain JSON on every run. The source is never
built from parameter values, so a value such as ``"'); __import__('os')"`` stays a string.

Schemas are JSON Schema draft 2020-12 objects with a few refusals that keep validating a
hostile value cheap and local: no remote ``$ref`` (nothing is fetched), no
``patternProperties``, no ``$ref`` cycle or long chain on one value (checked when the
schema is), ``pattern`` matched with the `regex` package under a time limit, and the whole
validation under a deadline (a chain of ``anyOf`` over ``$ref`` is exponential). Defaults of
top-level properties fill absent parameters before validation.

A template's fixtures run with its `example_params` unless a fixture names its own
`config` (defaults filled in either way): they test the template's logic whatever values an
instance chooses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from time import perf_counter
from typing import Any
from urllib.parse import unquote

import regex
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError, ValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from referencing import Registry
from referencing.exceptions import Unresolvable

from alloy_scripting.model.fixtures import MAX_FIXTURES, Fixture
from alloy_scripting.model.json_check import check_json
from alloy_scripting.model.script import (
    MAX_DESCRIPTION_LENGTH,
    ScriptSource,
    ScriptTrigger,
    UtcDatetime,
    utc_now,
)
from alloy_scripting.model.template_ref import (
    MAX_TEMPLATE_ID_LENGTH,
    TEMPLATE_ID_PATTERN,
    TemplateRef,
)

MAX_SCHEMA_BYTES = 32 * 1024
MAX_PARAMS_BYTES = 16 * 1024
MAX_TAGS = 16
MAX_TAG_LENGTH = 40
MAX_TEMPLATE_NAME_LENGTH = 128
#: Errors listed for one invalid parameter set.
MAX_LISTED_ERRORS = 50
#: Time one ``pattern`` may take on one value.
PATTERN_TIMEOUT_SECONDS = 0.05
#: Time validating one set of parameters may take (``$ref`` chains through ``anyOf`` can
#: make a small schema's work exponential).
VALIDATION_TIMEOUT_SECONDS = 0.2
#: Time every parameter check of one template may take together (its example and each
#: fixture's config, when it is published and when it is instantiated).
TEMPLATE_VALIDATION_SECONDS = 1.0
#: `Template.model_validate(..., context=STORED)`: a template read back from the store was
#: checked when it was published; its schema and examples are not checked again.
STORED = {"stored": True}
_REFUSED_KEYWORDS = (
    "patternProperties",
    "$dynamicRef",
    "$recursiveRef",
    "$id",
    "$anchor",
    "$dynamicAnchor",
)
#: Longest chain of ``$ref`` applying to one value (each is a level of recursion).
MAX_REF_CHAIN = 16
#: Keywords whose subschemas apply to the same value (as opposed to its items or members).
_SAME_VALUE_LISTS = ("allOf", "anyOf", "oneOf")
_SAME_VALUE_ONE = ("not", "if", "then", "else")
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


class TemplateParamsInvalid(ValueError):
    """Parameters that do not satisfy a template's schema; `errors` lists each one with
    its path (``loc``), message and the schema keyword that failed (``type``)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        first = errors[0] if errors else {"loc": [], "msg": "invalid"}
        where = ".".join(str(part) for part in first["loc"]) or "params"
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{where}: {first['msg']}{more}")


def _pattern(
    validator: Any, pattern: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``pattern`` with `regex` under a time limit (a schema's pattern meets hostile input)."""
    if not validator.is_type(instance, "string"):
        return
    try:
        found = regex.search(pattern, instance, timeout=PATTERN_TIMEOUT_SECONDS)
    except TimeoutError:
        yield ValidationError(f"matching the pattern {pattern!r} took too long")
        return
    except regex.error as exc:
        yield ValidationError(f"invalid pattern {pattern!r}: {exc}")
        return
    if found is None:
        yield ValidationError(f"does not match the pattern {pattern!r}")


def _no_retrieval(uri: str) -> Any:
    raise Unresolvable(uri)


class _TooSlow(Exception):
    pass


_DEADLINE: ContextVar[float] = ContextVar("template_params_deadline", default=float("inf"))
Keyword = Callable[[Any, Any, Any, Mapping[str, Any]], Iterator[ValidationError] | None]


@contextmanager
def validation_budget(seconds: float) -> Iterator[None]:
    """Every `validate_params` within shares one deadline, at most `seconds` from now."""
    token = _DEADLINE.set(min(_DEADLINE.get(), perf_counter() + seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _timed(keyword: Keyword) -> Keyword:
    """`keyword`, checking the validation's deadline first (every keyword is a step)."""

    def check(
        validator: Any, value: Any, instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        if perf_counter() > _DEADLINE.get():
            raise _TooSlow
        found = keyword(validator, value, instance, schema)
        if found is not None:
            yield from found

    return check


_KEYWORDS = {name: _timed(kw) for name, kw in Draft202012Validator.VALIDATORS.items()}
_KEYWORDS["pattern"] = _timed(_pattern)
_ParamsValidator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator, _KEYWORDS
)
_REGISTRY: Registry[Any] = Registry(retrieve=_no_retrieval)  # type: ignore[call-arg]


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode("utf-8", "replace"))


def _walk(node: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _resolve(schema: dict[str, Any], ref: str) -> Any:
    """The subschema a local JSON-pointer ``$ref`` names; `ValueError` when it names none."""
    if ref == "#":
        return schema
    if not ref.startswith("#/"):
        raise ValueError(f"params_schema: $ref {ref[:100]!r} is not a JSON pointer ('#/...')")
    node: Any = schema
    for raw in ref[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise ValueError(f"params_schema: $ref {ref[:100]!r} points nowhere")
    return node


def _same_value_refs(node: Any) -> list[str]:
    """The ``$ref``s that apply to the same value as `node` does."""
    found: list[str] = []
    stack = [node]
    while stack:
        item = stack.pop()
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("$ref"), str):
            found.append(item["$ref"])
        for key in _SAME_VALUE_LISTS:
            if isinstance(item.get(key), list):
                stack.extend(item[key])
        stack.extend(item.get(key) for key in _SAME_VALUE_ONE)
        if isinstance(item.get("dependentSchemas"), dict):
            stack.extend(item["dependentSchemas"].values())
    return found


def _check_refs(schema: dict[str, Any]) -> None:
    """Every ``$ref`` resolves, and none starts a cycle or a chain longer than
    `MAX_REF_CHAIN` on one value (validation would recurse without end or too deep)."""
    refs = {value for key, value in _walk(schema) if key == "$ref" and isinstance(value, str)}
    depth: dict[str, int] = {}
    visiting: set[str] = set()

    def chain(ref: str) -> int:
        if ref in depth:
            return depth[ref]
        if ref in visiting:
            raise ValueError(f"params_schema: $ref {ref[:100]!r} refers back to itself")
        visiting.add(ref)
        if len(visiting) > MAX_REF_CHAIN:
            raise ValueError(f"params_schema: $ref chains longer than {MAX_REF_CHAIN}")
        longest = 1 + max((chain(r) for r in _same_value_refs(_resolve(schema, ref))), default=0)
        visiting.discard(ref)
        if longest > MAX_REF_CHAIN:
            raise ValueError(f"params_schema: $ref chains longer than {MAX_REF_CHAIN}")
        depth[ref] = longest
        return longest

    for ref in sorted(refs):
        chain(ref)


def check_params_schema(schema: Any) -> dict[str, Any]:
    """`schema` if it is a JSON Schema (draft 2020-12) of an object that this service
    validates locally and in bounded time; else a `ValueError` saying why."""
    if not isinstance(schema, dict):
        raise ValueError("params_schema must be a JSON object")
    check_json(schema, "params_schema")
    if _size(schema) > MAX_SCHEMA_BYTES:
        raise ValueError(f"params_schema is larger than {MAX_SCHEMA_BYTES} bytes")
    if schema.get("type") != "object":
        raise ValueError('params_schema must describe an object ("type": "object")')
    if "$schema" in schema and schema["$schema"] != _DIALECT:
        raise ValueError(f"params_schema must use the dialect {_DIALECT}")
    for key, value in _walk(schema):
        if key in _REFUSED_KEYWORDS:
            raise ValueError(f"params_schema: {key} is not supported")
        if key == "$ref" and not (isinstance(value, str) and value.startswith("#")):
            raise ValueError("params_schema: only local $ref ('#...') is supported")
        if key == "pattern" and isinstance(value, str):
            try:
                regex.compile(value)
            except regex.error as exc:
                raise ValueError(f"params_schema: invalid pattern {value!r}: {exc}") from None
    _check_refs(schema)
    try:
        _ParamsValidator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(part) for part in exc.absolute_path)
        raise ValueError(
            f"params_schema is not a valid JSON Schema at /{path}: {exc.message}"
        ) from None
    return schema


def with_defaults(schema: Mapping[str, Any], params: Mapping[str, Any]) -> dict[str, Any]:
    """`params` with the defaults of the schema's top-level properties filled in."""
    filled = dict(params)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        for name, spec in properties.items():
            if name not in filled and isinstance(spec, dict) and "default" in spec:
                filled[name] = json.loads(json.dumps(spec["default"]))
    return filled


def _field_name_errors(value: Any, loc: list[str | int]) -> Iterator[dict[str, Any]]:
    """Names a stored document cannot carry (the parameters are stored on the script)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("$") or "." in key:
                yield {
                    "loc": [*loc, key],
                    "msg": "a parameter name may not start with '$' or contain '.'",
                    "type": "name",
                }
            yield from _field_name_errors(item, [*loc, key])
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _field_name_errors(item, [*loc, index])


def _loc(error: ValidationError) -> list[str | int]:
    return ["params", *error.absolute_path]


def validate_params(schema: Mapping[str, Any], params: Any) -> dict[str, Any]:
    """The parameters (defaults filled in) if they satisfy `schema`; else
    `TemplateParamsInvalid` listing every error with its path."""
    if not isinstance(params, dict):
        raise TemplateParamsInvalid(
            [{"loc": ["params"], "msg": "params must be a JSON object", "type": "type"}]
        )
    try:
        check_json(params, "params")
    except ValueError as exc:
        raise TemplateParamsInvalid(
            [{"loc": ["params"], "msg": str(exc), "type": "json"}]
        ) from None
    if _size(params) > MAX_PARAMS_BYTES:
        raise TemplateParamsInvalid(
            [{"loc": ["params"], "msg": f"larger than {MAX_PARAMS_BYTES} bytes", "type": "size"}]
        )
    filled = with_defaults(schema, params)
    names = list(_field_name_errors(filled, ["params"]))[:MAX_LISTED_ERRORS]
    if names:
        raise TemplateParamsInvalid(names)
    validator = _ParamsValidator(schema, registry=_REGISTRY)
    token = _DEADLINE.set(min(_DEADLINE.get(), perf_counter() + VALIDATION_TIMEOUT_SECONDS))
    try:
        found = sorted(validator.iter_errors(filled), key=lambda e: [str(p) for p in e.path])
    except Unresolvable as exc:  # only local refs pass `check_params_schema`; still, be sure
        raise TemplateParamsInvalid(
            [{"loc": ["params"], "msg": f"unresolvable $ref {exc}", "type": "$ref"}]
        ) from None
    except (_TooSlow, RecursionError):
        raise TemplateParamsInvalid(
            [
                {
                    "loc": ["params"],
                    "msg": "checking the parameters against the schema took too long "
                    "(e.g. nested anyOf/oneOf over $ref)",
                    "type": "schema",
                }
            ]
        ) from None
    finally:
        _DEADLINE.reset(token)
    if found:
        raise TemplateParamsInvalid(
            [
                {"loc": _loc(error), "msg": error.message[:300], "type": str(error.validator)}
                for error in found[:MAX_LISTED_ERRORS]
            ]
        )
    return filled


class Template(BaseModel):
    """A ready-made script: built-in (``owner`` None, shipped with the package) or published
    by a tenant (``owner`` the tenant). ``version`` numbers its publications."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=MAX_TEMPLATE_ID_LENGTH, pattern=TEMPLATE_ID_PATTERN)
    name: str = Field(min_length=1, max_length=MAX_TEMPLATE_NAME_LENGTH)
    description: str = Field(default="", max_length=MAX_DESCRIPTION_LENGTH)
    source: ScriptSource
    params_schema: dict[str, Any] = Field(
        description="JSON Schema (draft 2020-12) of the parameters, an object."
    )
    example_params: dict[str, Any] = Field(
        default_factory=dict,
        description="Parameters the fixtures run with (defaults filled in); valid by the schema.",
    )
    trigger: ScriptTrigger = Field(description="The suggested trigger.")
    fixtures: list[Fixture] = Field(default_factory=list, max_length=MAX_FIXTURES)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    owner: str | None = Field(default=None, description="None: built-in; else the tenant.")
    version: int = Field(default=1, ge=1)
    created_at: UtcDatetime = Field(default_factory=utc_now)
    updated_at: UtcDatetime = Field(default_factory=utc_now)
    created_by: str | None = None

    @field_validator("params_schema")
    @classmethod
    def _schema(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        if _stored(info):
            return value
        return check_params_schema(value)

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        for tag in value:
            if not regex.fullmatch(r"[a-z0-9][a-z0-9_-]*", tag) or len(tag) > MAX_TAG_LENGTH:
                raise ValueError(f"invalid tag {tag[:MAX_TAG_LENGTH]!r} (lower-case a-z 0-9 _ -)")
        return value

    @model_validator(mode="after")
    def _examples_valid(self, info: ValidationInfo) -> Template:
        if _stored(info):
            return self
        with validation_budget(TEMPLATE_VALIDATION_SECONDS):
            return self._check_examples()

    def _check_examples(self) -> Template:
        try:
            validate_params(self.params_schema, self.example_params)
        except TemplateParamsInvalid as exc:
            raise ValueError(f"example_params do not satisfy params_schema: {exc}") from None
        for fixture in self.fixtures:
            if fixture.config is not None:
                try:
                    validate_params(self.params_schema, fixture.config)
                except TemplateParamsInvalid as exc:
                    raise ValueError(
                        f"fixture {fixture.name!r}: config does not satisfy params_schema: {exc}"
                    ) from None
        return self

    @property
    def builtin(self) -> bool:
        return self.owner is None

    def params_for(self, params: Any) -> dict[str, Any]:
        """Validated parameters of an instance (`TemplateParamsInvalid` when they are not)."""
        return validate_params(self.params_schema, params)

    def ref(self, params: dict[str, Any]) -> TemplateRef:
        """What an instance records: this template's id, version, owner and `params`."""
        return TemplateRef(id=self.id, version=self.version, owner=self.owner, params=params)

    def instance_fixtures(self) -> list[Fixture]:
        """The fixtures an instance carries: each with its `config` (the template's
        example parameters unless it names its own), so they pass whatever the instance's
        parameters are."""
        with validation_budget(TEMPLATE_VALIDATION_SECONDS):
            return self._instance_fixtures()

    def _instance_fixtures(self) -> list[Fixture]:
        example = self.params_for(self.example_params)
        return [
            fixture.model_copy(
                update={
                    "config": dict(example)
                    if fixture.config is None
                    else self.params_for(fixture.config)
                }
            )
            for fixture in self.fixtures
        ]


def _stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and info.context.get("stored") is True
