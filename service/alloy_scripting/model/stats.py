"""Per-script run statistics over a time window (`ExecutionLog.stats`)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from alloy_scripting.model.enums import ExecutionStatus
from alloy_scripting.model.script import UtcDatetime

#: The failure statuses (count towards auto-disable), as stored.
FAILURE_STATUSES = tuple(s.value for s in ExecutionStatus if s.is_failure)
#: The percentiles of run duration a stats answer carries.
PERCENTILES = (50, 95, 99)


class StatsWindow(StrEnum):
    """How far back `GET /scripts/{id}/stats` looks."""

    HOUR = "1h"
    DAY = "24h"
    WEEK = "7d"

    @property
    def span(self) -> timedelta:
        return {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}[
            self.value
        ]


def rank(percentile: int, total: int) -> int:
    """The 0-based index of the `percentile`-th of `total` sorted values (nearest rank)."""
    return max(0, min(total - 1, -(-percentile * total // 100) - 1))


class FailedRun(BaseModel):
    """One failing run, as a stats answer names it."""

    execution_id: str
    status: ExecutionStatus
    error: str | dict[str, Any] | None = None
    started_at: UtcDatetime


class ScriptStats(BaseModel):
    """Runs of one script started in `[since, until)`, computed by the store."""

    script_id: str
    window: StatsWindow
    since: UtcDatetime
    until: UtcDatetime
    runs: int = Field(ge=0)
    by_status: dict[ExecutionStatus, int] = Field(
        description="Runs by final status (statuses without runs are 0)."
    )
    error_rate: float = Field(
        ge=0, le=1, description="Failures (error, limit_exceeded, timeout) over runs; 0 if none."
    )
    duration_ms: dict[str, float | None] = Field(
        description="`p50`, `p95`, `p99` of run duration (nearest rank; null without runs)."
    )
    last_error: FailedRun | None = Field(
        default=None, description="The newest failure in the window."
    )
    consecutive_failures: int = Field(
        ge=0, description="Failures since the script's newest non-failing run (any window)."
    )
