"""Fixtures for the attack corpus: the engine under test and a secret in the environment."""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from .corpus import SECRET_ENV

ENGINE_ENV = "ALLOY_ATTACKS_ENGINE"  # "module:factory", default the real engine


def _import_engine() -> Any:
    """The engine factory named by `ALLOY_ATTACKS_ENGINE`; a missing or broken engine fails
    every test that needs it, with the reason (a skip would let the run pass)."""
    target = os.environ.get(ENGINE_ENV, "alloy_scripting.engine:create_default_engine")
    module_name, _, factory = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, factory)
    except Exception as e:
        pytest.fail(f"engine {target!r} ({ENGINE_ENV}) cannot be loaded: {type(e).__name__}: {e}")


@pytest.fixture(scope="session")
def engine_factory() -> Any:
    return _import_engine()


@pytest.fixture(scope="session")
def engine(engine_factory: Any) -> Any:
    """One engine shared by the in-process tests, like a long-lived worker."""
    return engine_factory()


@pytest.fixture(scope="session", autouse=True)
def attack_secret() -> Iterator[str]:
    """An env secret that must never show up in a result."""
    value = f"s3cr3t-{uuid.uuid4().hex}"
    old = os.environ.get(SECRET_ENV)
    os.environ[SECRET_ENV] = value
    yield value
    if old is None:
        os.environ.pop(SECRET_ENV, None)
    else:
        os.environ[SECRET_ENV] = old
