"""Shadow runs as plain data: a candidate version attached to an active script, and the tally
of how its runs compared with the active version's on live events.

A `Shadow` is what `POST /scripts/{id}/shadow` stores (one per script). A `ShadowTally` is
one instance's count of comparisons for one shadow; `ShadowSummary` merges the tallies of
every instance. Examples of differences and errors are bounded (`MAX_EXAMPLES`, newest
kept), each side trimmed to `MAX_SIDE_CHARS` of JSON.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from alloy_scripting.model.result import ExecutionResult, jsonable
from alloy_scripting.model.script import new_id, utc_now

MAX_EXAMPLES = 20
MAX_SIDE_CHARS = 2000
MAX_SHADOW_DAYS = 30

Verdict = Literal["same", "different", "error"]


class Shadow(BaseModel):
    """A candidate source running beside an active script until `until`."""

    id: str = Field(default_factory=new_id)
    """Fresh on every start: tallies of an earlier shadow of the script never mix in."""
    script_id: str
    tenant_id: str | None = None
    source: str
    sample: float = Field(ge=0.0, le=1.0)
    until: AwareDatetime
    started_at: AwareDatetime = Field(default_factory=utc_now)
    started_by: str | None = None
    script_version: int = 1
    """The active version it was started against."""

    def running(self, now: datetime | None = None) -> bool:
        return (now or utc_now()) < self.until


def latest_until(now: datetime | None = None) -> datetime:
    return (now or utc_now()) + timedelta(days=MAX_SHADOW_DAYS)


def trimmed(value: Any, limit: int = MAX_SIDE_CHARS) -> Any:
    """`value` as JSON data, or its JSON text cut to `limit` characters when longer."""
    data = jsonable(value)
    text = json.dumps(data, default=str, sort_keys=True)
    if len(text) <= limit:
        return data
    return text[: limit - 1] + "…"


def outcome_of(result: ExecutionResult) -> dict[str, Any]:
    """What is compared of a run: status, changes, removed, emitted, reason or error."""
    outcome: dict[str, Any] = {
        "status": result.status.value,
        "changes": jsonable(result.changes),
        "removed": sorted(result.removed),
        "emitted": [event.to_dict() for event in result.emitted],
    }
    if result.reason is not None:
        outcome["reason"] = result.reason
    if result.error is not None:
        outcome["error"] = f"{result.error.type}: {result.error.message}"
    return outcome


def compare(active: ExecutionResult, candidate: ExecutionResult) -> tuple[Verdict, dict[str, Any]]:
    """The verdict on one pair of runs and, for a difference or an error, the differing
    parts of both outcomes (`active`, `candidate`; each trimmed)."""
    mine, theirs = outcome_of(active), outcome_of(candidate)
    if candidate.status.is_failure:
        verdict: Verdict = "error"
    elif mine == theirs:
        return "same", {}
    else:
        verdict = "different"
    keys = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    return verdict, {
        "fields": keys,
        "active": trimmed({k: mine.get(k) for k in keys}),
        "candidate": trimmed({k: theirs.get(k) for k in keys}),
    }


@dataclass(slots=True)
class ShadowTally:
    """One instance's comparisons for one shadow."""

    runs: int = 0
    same: int = 0
    different: int = 0
    errors: int = 0
    skipped: int = 0
    examples: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=MAX_EXAMPLES))

    def add(self, verdict: Verdict, example: dict[str, Any] | None = None) -> None:
        self.runs += 1
        if verdict == "same":
            self.same += 1
            return
        if verdict == "different":
            self.different += 1
        else:
            self.errors += 1
        if example is not None:
            self.examples.append({"kind": verdict, **example})

    def skip(self) -> None:
        self.skipped += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "runs": self.runs,
            "same": self.same,
            "different": self.different,
            "errors": self.errors,
            "skipped": self.skipped,
            "examples": list(self.examples),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ShadowTally:
        def count(name: str) -> int:
            value = data.get(name)
            return value if isinstance(value, int) and value >= 0 else 0

        tally = cls(count("runs"), count("same"), count("different"), count("errors"))
        tally.skipped = count("skipped")
        tally.examples.extend(e for e in data.get("examples") or () if isinstance(e, dict))
        return tally


class ShadowSummary(BaseModel):
    """The tallies of every instance, merged; the newest `MAX_EXAMPLES` examples."""

    runs: int = 0
    same: int = 0
    different: int = 0
    errors: int = 0
    skipped: int = 0
    examples: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def merge(cls, tallies: list[ShadowTally]) -> ShadowSummary:
        examples = sorted(
            (e for t in tallies for e in t.examples), key=lambda e: str(e.get("at", ""))
        )
        return cls(
            runs=sum(t.runs for t in tallies),
            same=sum(t.same for t in tallies),
            different=sum(t.different for t in tallies),
            errors=sum(t.errors for t in tallies),
            skipped=sum(t.skipped for t in tallies),
            examples=examples[-MAX_EXAMPLES:],
        )
