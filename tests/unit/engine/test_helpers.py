"""Phase helpers: validators, emit, reserved http_*."""

from __future__ import annotations

import pytest

from alloy_scripting.bridge.registry import REGISTRY, helpers_for
from alloy_scripting.bridge.validation import (
    validate_email,
    validate_length,
    validate_range,
    validate_required,
)
from alloy_scripting.engine import ExecutionPhase, ExecutionStatus, ScriptEngine

from .conftest import messages, run


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("a@example.com", True),
        ("first.last+tag@sub.example.org", True),
        ("x" * 64 + "@example.com", True),
        ("x" * 65 + "@example.com", False),  # local part > 64 (RFC 5321)
        ("a@" + "b" * 250 + ".com", False),  # total > 254
        ("not-an-address", False),
        ("a@b", False),
        ("", False),
        (None, False),
        (42, False),
    ],
)
def test_validate_email(address: object, valid: bool) -> None:
    assert validate_email(address) is valid


def test_validators() -> None:
    assert validate_required("x") and not validate_required("  ") and not validate_required(None)
    assert not validate_required([]) and validate_required(0) and validate_required({"a": 1})
    assert (
        validate_length("abc", 1, 3)
        and not validate_length("abc", max=2)
        and not validate_length(5, 1)
    )
    assert (
        validate_range(5, 1, 10)
        and not validate_range(11, max=10)
        and not validate_range(True, 0, 2)
    )
    assert not validate_range(float("nan"), 0) and not validate_range("5", 0)
    with pytest.raises(TypeError):
        validate_range(5, min="a")


def test_validators_in_scripts(engine: ScriptEngine) -> None:
    result = run(
        engine,
        """
        log(validate_email(entity["mail"]), validate_required(entity.get("name")))
        log(validate_length("abc", min=2, max=5), validate_range(entity["n"], 0, 10))
        log(validate_pattern("AB-12", "[A-Z]+-[0-9]+"), validate_pattern("AB-12x", "[A-Z]+-[0-9]+"))
        log(validate_one_of("b", ["a", "b"]), validate_one_of("z", ("a", "b")))
        """,
        phase="before",
        entity={"mail": "a@example.com", "n": 3},
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    assert messages(result) == ["True False", "True True", "True False", "True False"]


def test_emit_records_intent(engine: ScriptEngine) -> None:
    result = run(
        engine,
        'emit("deal.approved", {"id": entity["id"], "tags": ("a",), "at": ctx.now})\nemit("ping")',
        phase="after",
        event="after_update",
        entity={"id": "d-1"},
    )
    assert result.status is ExecutionStatus.SUCCESS, result.error
    first, second = result.emitted
    assert first.event_type == "deal.approved"
    assert first.payload["id"] == "d-1" and first.payload["tags"] == ["a"]
    assert isinstance(first.payload["at"], str)
    assert second.payload == {}
    assert result.to_dict()["emitted"][0]["event_type"] == "deal.approved"


@pytest.mark.parametrize("phase", ["before"])
def test_emit_refused_in_before(engine: ScriptEngine, phase: str) -> None:
    source = 'emit("x", {})\n'
    assert (
        engine.validate(source, phase)[0].message == "emit() is not available in the 'before' phase"
    )
    result = engine.execute(source, phase=phase)
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None and result.error.type == "PhaseError"
    assert "'before' phase" in result.error.message and result.emitted == []


def test_validator_refused_in_after(engine: ScriptEngine) -> None:
    result = engine.execute("validate_email('a@b.c')\n", phase="after")
    assert (
        result.error is not None
        and "validate_email() is not available in the 'after' phase" in result.error.message
    )


def test_emit_payload_must_be_plain(engine: ScriptEngine) -> None:
    for source in ('emit("x", {"f": log})', 'emit("x", [1])', 'emit("", {})', "emit(1, {})"):
        result = run(engine, source, phase="after")
        assert result.status is ExecutionStatus.ERROR, source
        assert result.emitted == []


@pytest.mark.parametrize("name", ["http_get", "http_post", "http_request"])
def test_http_not_configured(engine: ScriptEngine, name: str) -> None:
    result = engine.execute(f"{name}('https://example.com')\n", phase="after")
    assert result.status is ExecutionStatus.ERROR
    assert result.error is not None
    assert result.error.message == "HTTP helpers are not configured on this service"
    result = engine.execute(f"{name}('https://example.com')\n", phase="before")
    assert (
        result.error is not None and "not available in the 'before' phase" in result.error.message
    )


def test_registry_phases() -> None:
    assert set(helpers_for(ExecutionPhase.BEFORE)) == {
        "validate_email", "validate_required", "validate_length", "validate_range",
        "validate_pattern", "validate_one_of", "store",
    }  # fmt: skip
    assert set(helpers_for(ExecutionPhase.AFTER)) == {
        "emit",
        "http_get",
        "http_post",
        "http_request",
        "store",
    }
    # `respond` answers an API endpoint: only the api phase offers it (issue 15)
    assert set(helpers_for(ExecutionPhase.MANUAL)) == set(REGISTRY) - {"respond"}
    assert set(helpers_for(ExecutionPhase.API)) == set(REGISTRY)
    assert set(helpers_for(ExecutionPhase.ON_COMMIT)) == set(helpers_for(ExecutionPhase.AFTER))


def test_entity_before_and_params(engine: ScriptEngine) -> None:
    source = "log(entity_before is None, params)\n"
    result = engine.execute(
        source, phase="after", event="after_update", entity_before={"a": 1}, params={"p": 1}
    )
    assert messages(result) == ["False {}"]
    result = engine.execute(source, phase="after", event="after_create", entity_before={"a": 1})
    assert messages(result) == ["True {}"]
    result = engine.execute(source, phase="manual", entity_before={"a": 1}, params={"p": [1]})
    assert messages(result) == ["True {'p': [1]}"]
    result = engine.execute(
        "entity_before['a'] = 2\n",
        phase="on_commit",
        event="on_commit_delete",
        entity_before={"a": 1},
    )
    assert (
        result.status is ExecutionStatus.ERROR
        and result.error is not None
        and result.error.type == "TypeError"
    )


def test_phase_derived_from_event(engine: ScriptEngine) -> None:
    result = engine.execute("log(ctx.phase, ctx.event)\n", event="before_create")
    assert result.phase is ExecutionPhase.BEFORE
    assert messages(result) == ["before before_create"]
