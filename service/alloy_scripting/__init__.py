"""alloy-scripting: sandboxed business scripts reacting to domain events."""

from alloy_scripting.model import EventType, ExecutionPhase, ExecutionStatus, ScriptStatus

__version__ = "0.1.0"

__all__ = ["EventType", "ExecutionPhase", "ExecutionStatus", "ScriptStatus", "__version__"]
