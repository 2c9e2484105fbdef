"""The script engine: RestrictedPython sandbox with hard limits, compile cache, phase helpers.

Public API: `ScriptEngine`, `EngineConfig`, `create_default_engine`, `CompiledScript`,
`Diagnostic`, `ExecutionResult` (and its parts), `EntityProxy`, `ScriptAbort`,
`LimitExceeded`, `POLICY_VERSION`.
"""

from alloy_scripting.engine.compiler import POLICY_VERSION, CompiledScript
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.engine.entity import EntityProxy, EntityView
from alloy_scripting.engine.errors import LimitExceeded, ScriptAbort, ScriptControl
from alloy_scripting.engine.script_engine import ScriptEngine, create_default_engine
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.result import (
    Diagnostic,
    EmittedEvent,
    ExecutionResult,
    LogEntry,
    ScriptError,
)

__all__ = [
    "POLICY_VERSION",
    "CompiledScript",
    "Diagnostic",
    "EmittedEvent",
    "EngineConfig",
    "EntityProxy",
    "EntityView",
    "EventType",
    "ExecutionPhase",
    "ExecutionResult",
    "ExecutionStatus",
    "LimitExceeded",
    "LogEntry",
    "ScriptAbort",
    "ScriptControl",
    "ScriptEngine",
    "ScriptError",
    "create_default_engine",
]
