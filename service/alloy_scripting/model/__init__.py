"""Plain data shared by every layer. Imports nothing above itself."""

from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus, ScriptStatus
from alloy_scripting.model.execution import ExecutionRecord
from alloy_scripting.model.page import ExecutionPage, ScriptPage, ScriptQuery
from alloy_scripting.model.script import (
    Api,
    ApiTrigger,
    Cron,
    CronTrigger,
    Event,
    EventTrigger,
    FailureOutcome,
    LastError,
    Manual,
    ManualTrigger,
    OnErrorPolicy,
    Script,
    ScriptTrigger,
    ScriptVersion,
    TriggerType,
)

__all__ = ["EventType", "ExecutionPhase", "ExecutionStatus", "ScriptStatus"]

__all__ += [  # registry model (issue 3)
    "Api",
    "ApiTrigger",
    "Cron",
    "CronTrigger",
    "Event",
    "EventTrigger",
    "ExecutionPage",
    "ExecutionRecord",
    "FailureOutcome",
    "LastError",
    "Manual",
    "ManualTrigger",
    "OnErrorPolicy",
    "Script",
    "ScriptPage",
    "ScriptQuery",
    "ScriptTrigger",
    "ScriptVersion",
    "TriggerType",
]
