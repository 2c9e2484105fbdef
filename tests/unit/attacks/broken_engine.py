"""A deliberately broken engine, for testing the attack suite itself.

`create_unsandboxed_engine` runs scripts the way a careless engine would: plain `exec`
with the real ``__builtins__``, the real modules and the caller's own dicts (the host of
`_unsandboxed.py`). Its `validate` is the real one, so every failure the escape suite
reports against it comes from what the scripts *did*. `test_suite_integrity` runs the
escape suite against it (``ALLOY_ATTACKS_ENGINE``) and expects every case to fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from alloy_scripting.engine import create_default_engine

from ._unsandboxed import Host

FACTORY = "tests.unit.attacks.broken_engine:create_unsandboxed_engine"


@dataclass
class Error:
    type: str
    message: str


@dataclass
class Result:
    """The parts of an `ExecutionResult` the attack suite reads."""

    status: str
    entity: dict[str, Any]
    changes: dict[str, Any]
    error: Error | None = None
    limit: str | None = None
    logs: list[Any] = field(default_factory=list)
    emits: list[Any] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "changes": self.changes,
            "entity": self.entity,
            "error": None if self.error is None else vars(self.error),
            "logs": self.logs,
            "emitted": self.emits,
        }


class UnsandboxedEngine:
    def __init__(self) -> None:
        self._validator = create_default_engine()

    def validate(self, source: str, phase: Any = None) -> Any:
        return self._validator.validate(source, phase)

    def execute(
        self,
        source: str,
        *,
        phase: Any = None,
        entity: Any = None,
        event: Any = None,
        entity_before: Any = None,
        params: Any = None,
        **ignored: Any,
    ) -> Result:
        host = Host(capture_stdout=False)
        spec = {
            "source": source,
            "phase": phase,
            "event": event,
            "entity": entity,
            "entity_before": entity_before,
            "params": params,
        }
        out = host.run(spec)
        if out["status"] in ("escaped", "host_failed"):
            raise RuntimeError(f"the script took the host down: {out}")
        final = out.get("entity") or {}
        original = entity or {}
        changes = {k: v for k, v in final.items() if k not in original or original[k] != v}
        error = None
        if out["status"] == "error":
            error = Error(out.get("error_type", ""), out.get("error", ""))
        elif out["status"] == "aborted":
            error = Error("ScriptAbort", out.get("reason"))
        return Result(out["status"], final, changes, error, None, out["logs"], out["emits"])


def create_unsandboxed_engine() -> UnsandboxedEngine:
    return UnsandboxedEngine()
