"""Shared fixtures of the engine tests."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from alloy_scripting.engine import (
    EngineConfig,
    ExecutionResult,
    ScriptEngine,
    create_default_engine,
)


@pytest.fixture(scope="module")
def engine() -> ScriptEngine:
    return create_default_engine()


def src(text: str) -> str:
    """Dedent an inline script."""
    return textwrap.dedent(text).strip("\n") + "\n"


def run(engine: ScriptEngine, text: str, **kwargs: Any) -> ExecutionResult:
    return engine.execute(src(text), **kwargs)


def messages(result: ExecutionResult) -> list[str]:
    return [entry.message for entry in result.logs]


def loose_engine(**overrides: Any) -> ScriptEngine:
    """An engine whose operation limit does not get in the way of timeout tests."""
    values: dict[str, Any] = {"max_operations": 10**9}
    values.update(overrides)
    return ScriptEngine(EngineConfig(**values))
