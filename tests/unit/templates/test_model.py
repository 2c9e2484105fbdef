"""Templates as data: schemas checked, parameters validated against them (every error with
its path), given to the script as `config` (plain data, never code)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import ValidationError

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.fixtures import Fixture
from alloy_scripting.model.script import EventTrigger, Script
from alloy_scripting.model.template_catalogue import builtin_template
from alloy_scripting.model.template_ref import TemplateRef
from alloy_scripting.model.templates import (
    Template,
    TemplateParamsInvalid,
    check_params_schema,
    validate_params,
)

ENGINE = create_default_engine()
HOSTILE = [
    "'); __import__('os').system('touch /tmp/pwned') #",
    '"""\nimport os\nos.system("id")\n"""',
    "\n__import__('subprocess')\nabort('injected')\n",
    "{config} {{ }} %s \\x00-free \\n",
]

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["label"],
    "properties": {
        "label": {"type": "string", "maxLength": 200},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10, "default": 3},
        "tags": {"type": "array", "items": {"type": "string", "pattern": "^[a-z]+$"}},
    },
}


def template(**fields: Any) -> Template:
    values: dict[str, Any] = {
        "id": "labeller",
        "name": "Labeller",
        "source": 'entity["label"] = config["label"]\nentity["limit"] = config["limit"]\n',
        "params_schema": SCHEMA,
        "example_params": {"label": "x"},
        "trigger": {"type": "event", "entity_type": "deal", "event": "before_create"},
        "fixtures": [
            {"name": "labels", "entity": {}, "expect": {"outcome": "continue"}},
        ],
    }
    values.update(fields)
    return Template.model_validate(values)


# -- schemas ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("schema", "why"),
    [
        ([], "must be a JSON object"),
        ({"type": "array"}, "describe an object"),
        ({"type": "object", "properties": {"a": {"type": "nonsense"}}}, "not a valid JSON Schema"),
        ({"type": "object", "minProperties": -1}, "not a valid JSON Schema"),
        ({"type": "object", "$ref": "https://evil.example/schema.json"}, "only local $ref"),
        ({"type": "object", "properties": {"a": {"$ref": "file:///etc/passwd"}}}, "local $ref"),
        ({"type": "object", "patternProperties": {"^a": {}}}, "patternProperties"),
        ({"type": "object", "properties": {"a": {"pattern": "(unclosed"}}}, "invalid pattern"),
        ({"type": "object", "$schema": "http://json-schema.org/draft-04/schema#"}, "dialect"),
        ({"type": "object", "description": "x" * 40_000}, "larger than"),
        ({"type": "object", "$ref": "#"}, "refers back to itself"),
        (
            {
                "type": "object",
                "$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}]}},
                "properties": {"x": {"$ref": "#/$defs/a"}},
            },
            "refers back to itself",
        ),
        (
            {
                "type": "object",
                "$defs": {f"d{i}": {"$ref": f"#/$defs/d{i + 1}"} for i in range(800)}
                | {"d800": {}},
                "properties": {"x": {"$ref": "#/$defs/d0"}},
            },
            "chains longer than",
        ),
        ({"type": "object", "properties": {"x": {"$ref": "#/$defs/none"}}}, "points nowhere"),
        ({"type": "object", "properties": {"x": {"$ref": "#a"}}}, "not a JSON pointer"),
        ({"type": "object", "$id": "https://evil.example/"}, "$id is not supported"),
    ],
)
def test_bad_schemas_are_refused(schema: Any, why: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        check_params_schema(schema)
    assert why in str(caught.value)


def test_a_template_with_a_bad_schema_or_example_does_not_validate() -> None:
    with pytest.raises(ValidationError, match="describe an object"):
        template(params_schema={"type": "string"})
    with pytest.raises(ValidationError, match="example_params"):
        template(example_params={})  # `label` is required
    with pytest.raises(ValidationError, match="fixture 'bad'"):
        template(
            fixtures=[
                {"name": "bad", "config": {"label": 5}, "expect": {"outcome": "continue"}},
            ]
        )


def test_local_refs_work() -> None:
    schema = {
        "type": "object",
        "$defs": {"small": {"type": "integer", "maximum": 5}},
        "properties": {"n": {"$ref": "#/$defs/small"}},
    }
    assert validate_params(check_params_schema(schema), {"n": 4}) == {"n": 4}
    with pytest.raises(TemplateParamsInvalid) as caught:
        validate_params(schema, {"n": 6})
    assert caught.value.errors[0]["loc"] == ["params", "n"]


# -- parameters ---------------------------------------------------------------------------


def test_defaults_fill_absent_parameters() -> None:
    assert validate_params(SCHEMA, {"label": "a"}) == {"label": "a", "limit": 3}
    assert validate_params(SCHEMA, {"label": "a", "limit": 9}) == {"label": "a", "limit": 9}


def test_every_error_is_listed_with_its_path() -> None:
    with pytest.raises(TemplateParamsInvalid) as caught:
        validate_params(SCHEMA, {"limit": 11, "tags": ["ok", "NOT", 3], "extra": True})
    errors = caught.value.errors
    by_loc = {tuple(e["loc"]): e["type"] for e in errors}
    assert by_loc[("params", "limit")] == "maximum"
    assert by_loc[("params", "tags", 1)] == "pattern"
    assert by_loc[("params", "tags", 2)] == "type"
    assert by_loc[("params",)] in {"required", "additionalProperties"}
    assert {e["type"] for e in errors} >= {"required", "additionalProperties"}
    assert "params" in str(caught.value)


@pytest.mark.parametrize(
    "params",
    [[], "x", {"label": float("nan")}, {"label": "a\x00b"}, {"label": "x" * 20_000}],
)
def test_params_that_are_not_plain_bounded_json_are_refused(params: Any) -> None:
    with pytest.raises(TemplateParamsInvalid):
        validate_params({"type": "object"}, params)


def test_an_exponential_schema_is_cut_short() -> None:
    """Each level offers four routes to the next: 4**12 paths for one value."""
    defs: dict[str, Any] = {
        f"d{i}": {"anyOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 4} for i in range(12)
    }
    defs["d12"] = {"type": "string"}
    schema = {"type": "object", "$defs": defs, "properties": {"x": {"$ref": "#/$defs/d0"}}}
    started = time.perf_counter()
    with pytest.raises(TemplateParamsInvalid, match="too long"):
        validate_params(check_params_schema(schema), {"x": 1})
    assert time.perf_counter() - started < 2
    with pytest.raises(ValidationError, match="too long"):
        template(params_schema=schema, example_params={"x": 1})


def test_recursive_schemas_over_deep_values_work() -> None:
    tree = {"type": "object", "properties": {"c": {"$ref": "#"}, "n": {"type": "integer"}}}
    value: dict[str, Any] = {"n": 1}
    for _ in range(30):
        value = {"c": value}
    assert validate_params(check_params_schema(tree), value) == value
    bottom = value
    while "c" in bottom:
        bottom = bottom["c"]
    bottom["n"] = "x"
    with pytest.raises(TemplateParamsInvalid) as caught:
        validate_params(tree, value)
    assert caught.value.errors[0]["loc"] == ["params", *(["c"] * 30), "n"]


def test_parameter_names_must_be_storable() -> None:
    """Parameters are stored on the script's document: no `$` prefix, no dots."""
    with pytest.raises(TemplateParamsInvalid) as caught:
        validate_params({"type": "object"}, {"ok": {"$where": 1}, "a.b": [{"$x": 2}]})
    assert sorted(tuple(e["loc"]) for e in caught.value.errors) == [
        ("params", "a.b"),
        ("params", "a.b", 0, "$x"),
        ("params", "ok", "$where"),
    ]


def test_a_catastrophic_pattern_is_cut_short() -> None:
    schema = {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}
    started = time.perf_counter()
    with pytest.raises(TemplateParamsInvalid) as caught:
        validate_params(schema, {"s": "a" * 40 + "!"})
    assert time.perf_counter() - started < 2
    assert caught.value.errors[0]["loc"] == ["params", "s"]


# -- parameters are data --------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE)
def test_a_hostile_parameter_stays_a_string(value: str) -> None:
    approval = builtin_template("deal-amount-approval")
    assert approval is not None
    params = approval.params_for({"approval_status": value})
    result = ENGINE.execute(
        approval.source, event="before_create", entity={"amount": 10**6}, config=params
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert result.changes == {"status": value}
    assert value not in approval.source


def test_config_is_a_fresh_copy_each_run() -> None:
    config = {"items": [1, 2], "nested": {"k": "v"}}
    source = (
        'config["items"].append(3)\nconfig["nested"]["k"] = "changed"\n'
        'entity["seen"] = [len(config["items"]), config["nested"]["k"]]\n'
    )
    for _ in range(2):
        result = ENGINE.execute(source, event="before_create", entity={}, config=config)
        assert result.changes == {"seen": [3, "changed"]}
    assert config == {"items": [1, 2], "nested": {"k": "v"}}


def test_config_is_empty_without_a_template() -> None:
    result = ENGINE.execute('entity["n"] = len(config)\n', event="before_create", entity={})
    assert result.changes == {"n": 0}
    assert ENGINE.validate('x = config.get("a")\n', None) == []


def test_a_script_records_its_template_and_runs_with_its_params() -> None:
    labeller = template()
    script = Script.new("lab", labeller.source, EventTrigger("deal", "before_create"))
    script.template = labeller.ref(labeller.params_for({"label": "gold"}))
    assert script.template == TemplateRef(
        id="labeller", version=1, owner=None, params={"label": "gold", "limit": 3}
    )
    assert script.config == {"label": "gold", "limit": 3}
    restored = Script.model_validate(script.model_dump(mode="json"))
    assert restored.template == script.template


def test_instance_fixtures_carry_their_config() -> None:
    labeller = template(
        fixtures=[
            {"name": "example", "expect": {"outcome": "continue"}},
            {"name": "own", "config": {"label": "own"}, "expect": {"outcome": "continue"}},
        ]
    )
    example, own = labeller.instance_fixtures()
    assert example.config == {"label": "x", "limit": 3}
    assert own.config == {"label": "own", "limit": 3}
    assert isinstance(example, Fixture)


def test_one_template_s_checks_share_one_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each fixture's config is checked, all within one budget: many slow-ish checks do not
    add up to a long block."""
    from alloy_scripting.model import templates as module

    monkeypatch.setattr(module, "TEMPLATE_VALIDATION_SECONDS", 0.0)
    with pytest.raises(ValidationError, match="too long"):
        template()
    monkeypatch.undo()
    labeller = template()
    monkeypatch.setattr(module, "TEMPLATE_VALIDATION_SECONDS", 0.0)
    with pytest.raises(TemplateParamsInvalid, match="too long"):
        labeller.instance_fixtures()


def test_a_stored_template_is_not_checked_again() -> None:
    from alloy_scripting.model.templates import STORED

    stored = template().model_dump(mode="json")
    stored["example_params"] = {}  # what a publication checked; not re-checked on read
    assert Template.model_validate(stored, context=STORED).example_params == {}
    with pytest.raises(ValidationError):
        Template.model_validate(stored)
