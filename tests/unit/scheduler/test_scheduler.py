"""The scheduler over the in-memory stores, with an injected clock and a recording `run`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alloy_scripting import telemetry
from alloy_scripting.model.enums import ScriptStatus
from alloy_scripting.model.script import Cron, Manual, Script
from alloy_scripting.runner.scheduler import (
    MisfirePolicy,
    Scheduler,
    next_run_at,
    plan_ticks,
)
from alloy_scripting.storage.memory import InMemoryStorage, InMemoryTickLedger


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


class Recorder:
    """A fake `run`: records (script id, expression, scheduled_at); may fail or block."""

    def __init__(self, *, fail: Callable[[int], bool] | None = None) -> None:
        self.calls: list[tuple[str, str, datetime]] = []
        self.fail = fail
        self.gate: asyncio.Event | None = None

    async def __call__(self, script: Script, scheduled_at: datetime) -> None:
        assert isinstance(script.trigger, Cron)
        self.calls.append((script.id, script.trigger.expression, scheduled_at))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None and self.fail(len(self.calls)):
            raise RuntimeError(f"run {len(self.calls)} failed")

    @property
    def times(self) -> list[datetime]:
        return [at for _, _, at in self.calls]


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def registry() -> InMemoryStorage:
    return InMemoryStorage()


@pytest.fixture
def ledger() -> InMemoryTickLedger:
    return InMemoryTickLedger()


async def add_cron(
    registry: InMemoryStorage,
    expression: str,
    zone: str = "UTC",
    *,
    name: str = "job",
    tenant_id: str | None = None,
) -> Script:
    script = Script.new(name, "pass", Cron(expression, zone), tenant_id=tenant_id).activate()
    return await registry.for_tenant(tenant_id).save(script)


def make(
    registry: InMemoryStorage,
    ledger: InMemoryTickLedger,
    run: Recorder,
    start: datetime,
    **options: Any,
) -> tuple[Scheduler, Clock]:
    clock = Clock(start)
    options.setdefault("instance_id", "a")
    return Scheduler(registry, ledger, run, clock=clock, **options), clock


async def step(
    scheduler: Scheduler, clock: Clock, until: datetime, every: timedelta
) -> list[datetime]:
    """Passes every ``every`` up to ``until``; the instants this scheduler claimed."""
    claimed: list[datetime] = []
    while clock.now < until:
        clock.now = min(clock.now + every, until)
        claimed += [at for _, at in await scheduler.run_pending(wait=True)]
    return claimed


# -- the normal schedule ----------------------------------------------------------------------


async def test_runs_every_tick_once(registry: InMemoryStorage, ledger: InMemoryTickLedger) -> None:
    script = await add_cron(registry, "*/15 * * * *")
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10, 0, 30))
    assert await scheduler.run_pending(wait=True) == []  # first pass: sets the position
    claimed = await step(scheduler, clock, utc(2025, 6, 1, 11, 0, 30), timedelta(seconds=1.5))
    expected = [
        utc(2025, 6, 1, 10, 15),
        utc(2025, 6, 1, 10, 30),
        utc(2025, 6, 1, 10, 45),
        utc(2025, 6, 1, 11),
    ]
    assert claimed == expected
    assert run.calls == [(script.id, "*/15 * * * *", at) for at in expected]


async def test_zone_and_several_scripts(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    ny = await add_cron(registry, "0 9 * * *", "America/New_York", name="ny")
    tokyo = await add_cron(registry, "0 9 * * *", "Asia/Tokyo", name="tokyo", tenant_id="t2")
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 0, 0, 30))
    await scheduler.run_pending()
    await step(scheduler, clock, utc(2025, 6, 2, 14), timedelta(seconds=90))
    assert sorted((sid, at) for sid, _, at in run.calls) == sorted(
        [(tokyo.id, utc(2025, 6, 2, 0)), (ny.id, utc(2025, 6, 1, 13)), (ny.id, utc(2025, 6, 2, 13))]
    )


async def test_per_second_expression(registry: InMemoryStorage, ledger: InMemoryTickLedger) -> None:
    await add_cron(registry, "* * * * * *")
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10, 0, 0, 2000))
    await scheduler.run_pending()
    # irregular passes (jitter): every second still runs exactly once
    for offset in (0.9, 2.05, 2.5, 3.99, 4.01, 6.3):
        clock.now = utc(2025, 6, 1, 10, 0, 0, 2000) + timedelta(seconds=offset)
        await scheduler.run_pending(wait=True)
    assert run.times == [utc(2025, 6, 1, 10, 0, s) for s in range(1, 7)]


async def test_two_instances_share_each_tick(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    run_a, run_b = Recorder(), Recorder()
    clock = Clock(utc(2025, 6, 1, 10, 0, 0))
    a = Scheduler(registry, ledger, run_a, instance_id="a", clock=clock)
    b = Scheduler(registry, ledger, run_b, instance_id="b", clock=clock)
    for i in range(1, 41):
        clock.now = utc(2025, 6, 1, 10, 0, 0) + timedelta(milliseconds=250 * i)
        first, second = (a, b) if i % 3 else (b, a)
        await asyncio.gather(first.run_pending(), second.run_pending())
    await a.join()
    await b.join()
    times = sorted(run_a.times + run_b.times)
    assert times == [utc(2025, 6, 1, 10, 0, s) for s in range(1, 11)]
    assert run_a.times and run_b.times


# -- changes without a restart ----------------------------------------------------------------


async def test_changes_take_effect_at_the_next_pass(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "0 * * * *")
    # a clock ahead of the real one, so that saves (stamped with the real time) are in its past
    h = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, h - timedelta(minutes=1))
    await scheduler.run_pending()
    await step(scheduler, clock, h + timedelta(minutes=1), timedelta(minutes=1))
    assert run.times == [h]

    script.trigger = Cron("*/5 * * * *")  # new expression
    script = await registry.save(script)
    await step(scheduler, clock, h + timedelta(minutes=11), timedelta(minutes=1))
    assert run.calls[1:] == [
        (script.id, "*/5 * * * *", h + timedelta(minutes=5)),
        (script.id, "*/5 * * * *", h + timedelta(minutes=10)),
    ]

    script.trigger = Cron("10 * * * *", "Asia/Kolkata")  # new zone (UTC+05:30): hh:40 UTC
    script = await registry.save(script)
    await step(scheduler, clock, h + timedelta(minutes=45), timedelta(minutes=1))
    assert run.times[3:] == [h + timedelta(minutes=40)]

    script = await registry.save(script.disable("paused"))  # disabled: nothing runs
    await step(scheduler, clock, h + timedelta(hours=3), timedelta(minutes=1))
    assert len(run.calls) == 4

    # re-enabled (saved at the real time, hours before this clock): no catch-up of the pause
    script = await registry.save(script.activate())
    await step(scheduler, clock, h + timedelta(hours=3, minutes=50), timedelta(minutes=1))
    assert run.times[4:] == [h + timedelta(hours=3, minutes=40)]

    await registry.delete(script.id)  # deleted: nothing runs, its state is dropped
    await step(scheduler, clock, h + timedelta(hours=5), timedelta(minutes=1))
    assert len(run.calls) == 5
    assert scheduler._cursors == {}


async def test_other_triggers_are_ignored(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await registry.save(Script.new("manual", "pass", Manual()).activate())
    await registry.save(Script.new("draft", "pass", Cron("* * * * * *")))
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10))
    await step(scheduler, clock, utc(2025, 6, 1, 10, 0, 10), timedelta(seconds=1))
    assert run.calls == []


async def test_refresh_seconds_caches_the_script_list(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * * *")
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10), refresh_seconds=5)
    await scheduler.run_pending()
    await registry.save(script.disable("stop"))
    claimed = await step(scheduler, clock, utc(2025, 6, 1, 10, 0, 8), timedelta(seconds=1))
    assert claimed == [utc(2025, 6, 1, 10, 0, s) for s in range(1, 5)]  # until the refresh at +5 s


# -- misfires ----------------------------------------------------------------------------------


async def _down_since(ledger: InMemoryTickLedger, script: Script, at: datetime) -> None:
    """Another (now dead) instance ran the script last at ``at``."""
    assert await ledger.claim(script.id, at, "dead-instance")


async def test_misfire_run_once_collapses_missed_ticks(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * *")
    await _down_since(ledger, script, utc(2025, 6, 1, 10, 0))
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10, 4, 30))
    # 10:01 .. 10:04 were missed (4 ticks, all within the 300 s grace): ONE run, the latest
    assert await scheduler.run_pending(wait=True) == [(script.id, utc(2025, 6, 1, 10, 4))]
    await step(scheduler, clock, utc(2025, 6, 1, 10, 6, 30), timedelta(seconds=1))
    assert run.times == [utc(2025, 6, 1, 10, 4), utc(2025, 6, 1, 10, 5), utc(2025, 6, 1, 10, 6)]


async def test_misfire_per_second_is_never_a_burst(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * * *")
    await _down_since(ledger, script, utc(2025, 6, 1, 10, 0))
    run = Recorder()
    scheduler, _ = make(registry, ledger, run, utc(2025, 6, 1, 10, 2, 0, 500_000))
    await scheduler.run_pending(wait=True)
    # the on-time ticks (within 5 s) all run; the 115 late ones add nothing to them
    on_time = [utc(2025, 6, 1, 10, 1, 55) + timedelta(seconds=i) for i in range(1, 6)]
    assert run.times == on_time


async def test_misfire_skip_runs_none(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * *")
    await _down_since(ledger, script, utc(2025, 6, 1, 10, 0))
    run = Recorder()
    scheduler, clock = make(
        registry, ledger, run, utc(2025, 6, 1, 10, 4, 30), misfire_policy=MisfirePolicy.SKIP
    )
    assert await scheduler.run_pending(wait=True) == []
    await step(scheduler, clock, utc(2025, 6, 1, 10, 6, 30), timedelta(seconds=1))
    assert run.times == [utc(2025, 6, 1, 10, 5), utc(2025, 6, 1, 10, 6)]


async def test_misfire_beyond_the_grace_is_skipped(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "5 * * * *")
    await _down_since(ledger, script, utc(2025, 6, 1, 9, 5))
    run = Recorder()
    # 10:05 was missed 25 minutes ago: older than the 300 s grace
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10, 30))
    assert await scheduler.run_pending(wait=True) == []
    # with a longer grace it runs, once
    other = Scheduler(
        registry, ledger, run, instance_id="b", clock=clock, misfire_grace=timedelta(hours=1)
    )
    assert await other.run_pending(wait=True) == [(script.id, utc(2025, 6, 1, 10, 5))]
    await step(scheduler, clock, utc(2025, 6, 1, 11, 10), timedelta(minutes=1))
    assert run.times == [utc(2025, 6, 1, 10, 5), utc(2025, 6, 1, 11, 5)]


def _floor(at: datetime, unit: timedelta) -> datetime:
    """`at` rounded down to a whole `unit` (second, minute) of UTC."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return at - (at - epoch) % unit


async def test_new_script_fires_no_tick_from_before_it_was_saved(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * * *")
    run = Recorder()
    # the clock is fixed relative to updated_at: exactly the three seconds after it are due
    second = timedelta(seconds=1)
    start = _floor(script.updated_at, second) + 3 * second
    scheduler, _ = make(registry, ledger, run, start)
    claimed = await scheduler.run_pending(wait=True)
    assert [at for _, at in claimed] == [start - 2 * second, start - second, start]
    assert all(at > script.updated_at for _, at in claimed)


async def test_script_saved_before_downtime_runs_once_at_start_up(
    registry: InMemoryStorage,
) -> None:
    """A script saved 10 minutes before the service came up: its missed ticks collapse to
    one run (half a minute after a tick, so no tick is on time)."""
    late = await add_cron(registry, "* * * * *", name="late")
    minute = timedelta(minutes=1)
    latest = _floor(late.updated_at + 10 * minute, minute)
    fresh = Scheduler(
        registry,
        InMemoryTickLedger(),
        Recorder(),
        instance_id="b",
        clock=Clock(latest + 30 * timedelta(seconds=1)),
    )
    assert await fresh.run_pending(wait=True) == [(late.id, latest)]


async def test_start_up_on_a_tick_after_downtime_runs_once_not_a_burst(
    registry: InMemoryStorage,
) -> None:
    """The boundary: the service comes up within the on-time threshold of a tick after
    missing earlier ones. The on-time run is the one run; the collapsed late tick is not
    added to it (README: "never a burst")."""
    late = await add_cron(registry, "* * * * *", name="late")
    minute = timedelta(minutes=1)
    on_time = _floor(late.updated_at + 10 * minute, minute)
    fresh = Scheduler(
        registry,
        InMemoryTickLedger(),
        Recorder(),
        instance_id="b",
        clock=Clock(on_time + 2 * timedelta(seconds=1)),
    )
    assert await fresh.run_pending(wait=True) == [(late.id, on_time)]


def test_plan_ticks_policies() -> None:
    trigger = Cron("* * * * *")
    position, now = utc(2025, 6, 1, 10, 9, 30), utc(2025, 6, 1, 10, 10, 1)
    assert plan_ticks(trigger, position, now) == [utc(2025, 6, 1, 10, 10)]  # on time
    position, now = utc(2025, 6, 1, 10), utc(2025, 6, 1, 10, 10, 1)
    # 10:01..10:09 are late and 10:10 is on time: one run, the on-time one (never a burst)
    assert plan_ticks(trigger, position, now) == [utc(2025, 6, 1, 10, 10)]
    assert plan_ticks(trigger, position, now, policy=MisfirePolicy.SKIP) == [
        utc(2025, 6, 1, 10, 10)
    ]
    now = utc(2025, 6, 1, 10, 10, 30)
    assert plan_ticks(trigger, position, now) == [utc(2025, 6, 1, 10, 10)]  # late: collapsed
    assert plan_ticks(trigger, position, now, policy=MisfirePolicy.SKIP) == []
    assert plan_ticks(trigger, position, now, grace=timedelta(0)) == []


# -- daylight saving, through the scheduler ----------------------------------------------------


async def _dst_run(
    registry: InMemoryStorage,
    ledger: InMemoryTickLedger,
    expression: str,
    zone: str,
    start: datetime,
    end: datetime,
    every: timedelta,
) -> list[datetime]:
    await add_cron(registry, expression, zone)
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, start, misfire_threshold=every * 2)
    await scheduler.run_pending()
    claimed = await step(scheduler, clock, end, every)
    assert run.times == claimed
    return claimed


async def test_dst_berlin_spring_forward(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "30 2 * * *",
        "Europe/Berlin",
        utc(2025, 3, 29, 0),
        utc(2025, 3, 31, 12),
        timedelta(minutes=5),
    )
    assert claimed == [utc(2025, 3, 29, 1, 30), utc(2025, 3, 30, 1, 0), utc(2025, 3, 31, 0, 30)]


async def test_dst_berlin_fall_back_fixed_time(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "30 2 * * *",
        "Europe/Berlin",
        utc(2025, 10, 25, 0),
        utc(2025, 10, 27, 12),
        timedelta(minutes=5),
    )
    assert claimed == [utc(2025, 10, 25, 0, 30), utc(2025, 10, 26, 0, 30), utc(2025, 10, 27, 1, 30)]


async def test_dst_berlin_fall_back_wildcard_hour(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "*/15 * * * *",
        "Europe/Berlin",
        utc(2025, 10, 25, 23, 50),
        utc(2025, 10, 26, 2, 10),
        timedelta(minutes=1),
    )
    assert claimed == [utc(2025, 10, 26, 0, 0) + timedelta(minutes=15 * i) for i in range(9)]


async def test_dst_berlin_fall_back_per_second(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "* * * * * *",
        "Europe/Berlin",
        utc(2025, 10, 26, 0, 59, 55),
        utc(2025, 10, 26, 1, 0, 5),
        timedelta(seconds=1),
    )
    assert claimed == [utc(2025, 10, 26, 0, 59, 55) + timedelta(seconds=i) for i in range(1, 11)]


async def test_dst_new_york_spring_forward(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "30 2 * * *",
        "America/New_York",
        utc(2025, 3, 8, 0),
        utc(2025, 3, 10, 12),
        timedelta(minutes=5),
    )
    assert claimed == [utc(2025, 3, 8, 7, 30), utc(2025, 3, 9, 7, 0), utc(2025, 3, 10, 6, 30)]


async def test_dst_new_york_fall_back(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "30 1 * * *",
        "America/New_York",
        utc(2025, 11, 1, 0),
        utc(2025, 11, 3, 12),
        timedelta(minutes=5),
    )
    assert claimed == [utc(2025, 11, 1, 5, 30), utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]


async def test_dst_new_york_fall_back_wildcard_hour(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    claimed = await _dst_run(
        registry,
        ledger,
        "*/30 * * * *",
        "America/New_York",
        utc(2025, 11, 2, 4, 50),
        utc(2025, 11, 2, 7, 10),
        timedelta(minutes=1),
    )
    assert claimed == [utc(2025, 11, 2, 5, 0) + timedelta(minutes=30 * i) for i in range(5)]


# -- next_run_at, metrics ------------------------------------------------------------------------


async def test_next_run_at(registry: InMemoryStorage) -> None:
    script = await add_cron(registry, "30 2 * * *", "Europe/Berlin")
    assert next_run_at(script, utc(2025, 3, 29, 12)) == utc(2025, 3, 30, 1, 0)
    assert next_run_at(script, utc(2025, 10, 26, 0, 40)) == utc(2025, 10, 27, 1, 30)
    nxt = next_run_at(script)
    assert nxt is not None and nxt > datetime.now(UTC)
    script.disable("off")
    assert next_run_at(script, utc(2025, 3, 29, 12)) is None
    assert next_run_at(Script.new("m", "pass", Manual()).activate()) is None


async def test_metrics_count_claimed_runs(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    run = Recorder()
    clock = Clock(utc(2025, 6, 1, 10))
    a = Scheduler(registry, ledger, run, instance_id="a", clock=clock)
    b = Scheduler(registry, ledger, run, instance_id="b", clock=clock)
    await a.run_pending()
    await b.run_pending()
    before = telemetry.SCHEDULED_RUNS._value.get()
    clock.now = utc(2025, 6, 1, 10, 0, 3)
    await a.run_pending(wait=True)
    await b.run_pending(wait=True)
    assert telemetry.SCHEDULED_RUNS._value.get() - before == 3


# -- failures, concurrency, the loop ------------------------------------------------------------


async def test_failing_run_does_not_stop_the_scheduler(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    run = Recorder(fail=lambda n: n % 2 == 1)
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10))
    await scheduler.run_pending()
    await step(scheduler, clock, utc(2025, 6, 1, 10, 0, 4), timedelta(seconds=1))
    assert len(run.calls) == 4


async def test_storage_errors_are_retried(
    registry: InMemoryStorage, ledger: InMemoryTickLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_cron(registry, "* * * * * *")
    run = Recorder()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10))
    await scheduler.run_pending()
    real_claim = ledger.claim
    calls = 0

    async def flaky_claim(script_id: str, at: datetime, instance: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database unavailable")
        return await real_claim(script_id, at, instance)

    monkeypatch.setattr(ledger, "claim", flaky_claim)
    clock.now = utc(2025, 6, 1, 10, 0, 1)
    assert await scheduler.run_pending(wait=True) == []  # the claim failed: retried next pass
    clock.now = utc(2025, 6, 1, 10, 0, 2)
    await scheduler.run_pending(wait=True)
    assert run.times == [utc(2025, 6, 1, 10, 0, 1), utc(2025, 6, 1, 10, 0, 2)]


async def test_runs_concurrently_across_scripts(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *", name="one")
    await add_cron(registry, "* * * * * *", name="two")
    started: list[str] = []
    both = asyncio.Event()

    async def run(script: Script, at: datetime) -> None:
        started.append(script.name)
        if len(started) == 2:
            both.set()
        await both.wait()  # deadlocks unless both scripts run at the same time

    clock = Clock(utc(2025, 6, 1, 10))
    scheduler = Scheduler(registry, ledger, run, instance_id="a", clock=clock)
    await scheduler.run_pending()
    clock.now = utc(2025, 6, 1, 10, 0, 1)
    async with asyncio.timeout(5):
        await scheduler.run_pending(wait=True)
    assert sorted(started) == ["one", "two"]


async def test_backlog_limits_claims_of_a_slow_script(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    run = Recorder()
    run.gate = asyncio.Event()
    scheduler, clock = make(registry, ledger, run, utc(2025, 6, 1, 10), max_backlog=2)
    await scheduler.run_pending()
    claimed = []
    for s in range(1, 5):
        clock.now = utc(2025, 6, 1, 10, 0, s)
        claimed += await scheduler.run_pending()
    assert len(claimed) == 2  # the first runs (blocked), the second waits; the rest are left
    run.gate.set()
    await scheduler.join()
    clock.now = utc(2025, 6, 1, 10, 0, 5)
    assert len(await scheduler.run_pending(wait=True)) == 1


async def test_loop_runs_and_stops_cleanly(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    finished: list[datetime] = []
    calls = 0
    three = asyncio.Event()

    async def run(script: Script, at: datetime) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            three.set()
        if calls == 1:
            raise RuntimeError("boom")  # a failing run: the loop goes on
        await asyncio.sleep(0.3)  # a slow run: stop() waits for it
        finished.append(at)

    failing_once = {"n": 0}
    real_find = registry.find_active_cron

    async def flaky_find() -> list[Script]:
        failing_once["n"] += 1
        if failing_once["n"] == 2:
            raise ConnectionError("registry unavailable")  # a failing pass: the loop goes on
        return await real_find()

    registry.find_active_cron = flaky_find  # type: ignore[method-assign]
    scheduler = Scheduler(registry, ledger, run, instance_id="a", tick_seconds=0.2)
    await scheduler.start()
    await scheduler.start()  # idempotent
    assert scheduler.running
    async with asyncio.timeout(8):
        await three.wait()
    await scheduler.stop()
    assert not scheduler.running
    assert calls >= 3 and len(finished) == calls - 1  # every started run finished
    assert scheduler._jobs == set()
    settled = calls
    await asyncio.sleep(1.2)
    assert calls == settled  # nothing runs after stop()
    await scheduler.stop()  # idempotent


async def test_stop_cancels_runs_that_outlive_the_wait(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    await add_cron(registry, "* * * * * *")
    cancelled = asyncio.Event()

    async def run(script: Script, at: datetime) -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    clock = Clock(utc(2025, 6, 1, 10))
    scheduler = Scheduler(registry, ledger, run, instance_id="a", clock=clock)
    await scheduler.run_pending()
    clock.now = utc(2025, 6, 1, 10, 0, 1)
    assert len(await scheduler.run_pending()) == 1
    await asyncio.sleep(0)
    await scheduler.stop(wait_seconds=0.1)
    assert cancelled.is_set() and scheduler._jobs == set()


def test_status_enum_is_what_find_active_cron_uses() -> None:
    assert ScriptStatus.ACTIVE.value == "active"


async def test_reenabled_script_does_not_catch_up_its_pause(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    script = await add_cron(registry, "* * * * * *")
    await _down_since(ledger, script, script.updated_at - timedelta(seconds=60))  # ran before
    script = await registry.save(script.disable("paused"))
    script = await registry.save(script.activate())
    run = Recorder()
    scheduler, _ = make(
        registry,
        ledger,
        run,
        script.updated_at + timedelta(seconds=0.5),
        misfire_grace=timedelta(hours=1),
    )
    claimed = await scheduler.run_pending(wait=True)
    # without the updated_at bound, the last tick of the pause would run as a misfire
    assert all(at > script.updated_at for _, at in claimed)


def test_from_settings_and_for_runtime(
    registry: InMemoryStorage, ledger: InMemoryTickLedger
) -> None:
    from types import SimpleNamespace

    from alloy_scripting.settings import Settings

    settings = Settings(scheduler_tick_seconds=0.5, misfire_grace_seconds=60)
    scheduler = Scheduler.from_settings(settings, registry, ledger, Recorder(), instance_id="x")
    assert scheduler.tick_seconds == 0.5
    assert scheduler.misfire_grace == timedelta(seconds=60)
    assert scheduler.misfire_policy is MisfirePolicy.RUN_ONCE

    orchestrator = SimpleNamespace(run_scheduled=Recorder())
    runtime = SimpleNamespace(
        settings=settings,
        stores=SimpleNamespace(scripts=registry, ticks=ledger),
        orchestrator=orchestrator,
        instance_id="svc-1",
    )
    scheduler = Scheduler.for_runtime(runtime, misfire_policy=MisfirePolicy.SKIP)  # type: ignore[arg-type]
    assert scheduler.instance_id == "svc-1" and scheduler.run is orchestrator.run_scheduled
    assert scheduler.registry is registry and scheduler.ledger is ledger
    assert scheduler.misfire_policy is MisfirePolicy.SKIP
