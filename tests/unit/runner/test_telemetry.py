"""Script runs are traced (OpenTelemetry) and counted (Prometheus)."""

from __future__ import annotations

from typing import Any

from prometheus_client import REGISTRY

from alloy_scripting.engine import create_default_engine
from alloy_scripting.model import EventType
from alloy_scripting.model.script import Event, Script
from alloy_scripting.runner.orchestrator import ScriptOrchestrator
from alloy_scripting.storage.memory import InMemoryExecutionLog, InMemoryStorage


async def test_each_script_run_is_a_span_and_a_counted_sample(spans: Any) -> None:
    storage = InMemoryStorage()
    script = Script.new("traced", "x = 1 / 0", Event("deal", EventType.BEFORE_CREATE)).activate()
    await storage.save(script)
    orchestrator = ScriptOrchestrator(storage, create_default_engine(), InMemoryExecutionLog())

    def errors() -> float:
        value = REGISTRY.get_sample_value(
            "alloy_script_executions_total", {"phase": "before", "status": "error"}
        )
        return value or 0.0

    before = errors()
    await orchestrator.run_before("deal", "before_create", {})
    assert errors() == before + 1

    runs = [s for s in spans.get_finished_spans() if s.name == "script.execute"]
    assert runs, "no script.execute span"
    attributes = dict(runs[-1].attributes or {})
    assert attributes["alloy.script.name"] == "traced"
    assert attributes["alloy.status"] == "error"
    assert attributes["alloy.phase"] == "before"
