"""alloy-scripting: sandboxed business scripts reacting to domain events.

The public API, as in the seed's `use alloy_scripting::*`::

    from alloy_scripting import (
        Script, Event, EventType, EntityProxy, InMemoryStorage,
        create_default_engine, create_orchestrator, Continue, Rejected, Error,
    )

Names resolve lazily, so `import alloy_scripting` (and the CLI) stay quick to start; each
is listed once, in `_EXPORTS`, with the module that defines it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # model
    "EventType": "alloy_scripting.model.enums",
    "ExecutionPhase": "alloy_scripting.model.enums",
    "ExecutionStatus": "alloy_scripting.model.enums",
    "ScriptStatus": "alloy_scripting.model.enums",
    "Script": "alloy_scripting.model.script",
    "ScriptTrigger": "alloy_scripting.model.script",
    "ScriptVersion": "alloy_scripting.model.script",
    "OnErrorPolicy": "alloy_scripting.model.script",
    "Event": "alloy_scripting.model.script",
    "Cron": "alloy_scripting.model.script",
    "Manual": "alloy_scripting.model.script",
    "Api": "alloy_scripting.model.script",
    "EventTrigger": "alloy_scripting.model.script",
    "CronTrigger": "alloy_scripting.model.script",
    "ManualTrigger": "alloy_scripting.model.script",
    "ApiTrigger": "alloy_scripting.model.script",
    "ScriptPage": "alloy_scripting.model.page",
    "ScriptQuery": "alloy_scripting.model.page",
    "ExecutionPage": "alloy_scripting.model.page",
    "ExecutionRecord": "alloy_scripting.model.execution",
    "ExecutionResult": "alloy_scripting.model.result",
    "Diagnostic": "alloy_scripting.model.result",
    "EntityEvent": "alloy_scripting.model.events",
    "HookOutcome": "alloy_scripting.model.outcomes",
    "Continue": "alloy_scripting.model.outcomes",
    "Rejected": "alloy_scripting.model.outcomes",
    "Error": "alloy_scripting.model.outcomes",
    "SideEffect": "alloy_scripting.model.events",
    "EffectsOutcome": "alloy_scripting.model.outcomes",
    # engine
    "EntityProxy": "alloy_scripting.engine.entity",
    "ScriptEngine": "alloy_scripting.engine",
    "EngineConfig": "alloy_scripting.engine",
    "create_default_engine": "alloy_scripting.engine",
    # storage
    "ScriptRegistry": "alloy_scripting.storage.protocols",
    "ExecutionLog": "alloy_scripting.storage.protocols",
    "InMemoryStorage": "alloy_scripting.storage.memory",
    "InMemoryExecutionLog": "alloy_scripting.storage.memory",
    "MongoStorage": "alloy_scripting.storage.mongo",
    "MongoExecutionLog": "alloy_scripting.storage.mongo",
    "MongoStores": "alloy_scripting.storage.mongo",
    "StorageError": "alloy_scripting.storage.errors",
    "ScriptNotFound": "alloy_scripting.storage.errors",
    "DuplicateScriptName": "alloy_scripting.storage.errors",
    "VersionConflict": "alloy_scripting.storage.errors",
    # runner
    "ScriptExecutor": "alloy_scripting.runner.executor",
    "ScriptOrchestrator": "alloy_scripting.runner.orchestrator",
    "create_orchestrator": "alloy_scripting.runner.orchestrator",
    # client
    "HookClient": "alloy_scripting.client.kafka",
    "HookTimeout": "alloy_scripting.client.kafka",
    # settings
    "Settings": "alloy_scripting.settings",
}

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'alloy_scripting' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
