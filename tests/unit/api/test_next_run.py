"""`next_run_at` as the API serves it is when the scheduler fires, across daylight-saving
changes too (issue 10: the API used to ask croniter directly, which fires twice in a
repeated hour)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from alloy_scripting.api.deps import next_run_at
from alloy_scripting.model.script import Cron, Script
from alloy_scripting.runner import scheduler
from alloy_scripting.runner.cron import next_tick
from tests.unit.api.fixtures import auth


def cron_script(expression: str, timezone: str) -> Script:
    return Script.new("nightly", "log('tick')\n", Cron(expression, timezone=timezone)).activate()


def test_a_daily_job_in_a_repeated_hour_runs_next_on_the_following_day() -> None:
    # New York falls back on 2025-11-02: 01:00-02:00 local time happens twice. The job ran
    # at 01:30 EDT (05:30 UTC); the scheduler does not run it again at 01:30 EST.
    script = cron_script("30 1 * * *", "America/New_York")
    now = datetime(2025, 11, 2, 5, 31, tzinfo=UTC)
    assert next_run_at(script, now) == datetime(2025, 11, 3, 6, 30, tzinfo=UTC)
    assert next_run_at(script, now) == scheduler.next_run_at(script, now)


def test_the_same_rule_in_europe() -> None:
    # Berlin falls back on 2025-10-26 (03:00 CEST -> 02:00 CET).
    script = cron_script("30 2 * * *", "Europe/Berlin")
    now = datetime(2025, 10, 26, 0, 31, tzinfo=UTC)  # just after 02:30 CEST
    assert next_run_at(script, now) == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)
    assert isinstance(script.trigger, Cron)
    assert next_run_at(script, now) == next_tick(script.trigger, now)


async def test_the_api_serves_the_schedulers_next_run(client: httpx.AsyncClient) -> None:
    body = {
        "name": "nightly",
        "source": "log('tick')\n",
        "status": "active",
        "trigger": {"type": "cron", "expression": "30 1 * * *", "timezone": "America/New_York"},
    }
    created = (await client.post("/scripts", json=body, headers=auth())).json()
    before = datetime.now(UTC)
    served = datetime.fromisoformat(created["next_run_at"])
    stored = Script.model_validate({k: v for k, v in created.items() if k != "next_run_at"})
    assert served == scheduler.next_run_at(stored, before)  # a nightly job: no tick between
