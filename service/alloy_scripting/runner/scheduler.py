"""The cron scheduler: runs active `Cron` scripts in the ``scheduled`` phase at their times.

How it works
  One background loop per instance (`Scheduler.start` / `Scheduler.stop`) makes a pass about
  every ``tick_seconds``, aligned to the clock. A pass (`Scheduler.run_pending`) reads the
  active cron scripts of every tenant (one query; ``refresh_seconds`` > 0 caches the list),
  computes for each script its ticks since the last position this instance knows, claims each
  tick in the `TickLedger` and runs the ticks it claimed. Changes to a script (new
  expression, disabled, deleted) take effect at the next pass, without a restart.

Exactly once across instances
  A tick is the pair (script id, UTC instant). Only the instance whose ``ledger.claim``
  returns True runs it, so every tick of every script runs at most once across instances;
  with one live instance it runs exactly once. The claim comes before the run: an instance
  that dies between the two loses that tick (at-most-once, never twice).

Runs
  Claimed ticks run as background tasks, concurrently across scripts (at most
  ``max_concurrency`` at once) and in order, one at a time, within a script. A failing run
  is logged and never stops the loop. A script with ``max_backlog`` runs still queued here
  claims no more ticks on this instance until it catches up (others may claim them).

Time zones and daylight saving (see `alloy_scripting.runner.cron`)
  Ticks are computed by croniter in the trigger's zone and claimed as UTC instants.
  A local time skipped by spring-forward runs once, at the first instant after the gap
  (croniter's behaviour: ``30 2 * * *`` in Europe/Berlin runs at 03:00 CEST on that day).
  In the repeated hour of fall-back, an expression with specific hours (``30 2 * * *``)
  runs once, on the first pass; an expression whose hour field is ``*`` (``*/15 * * * *``,
  ``* * * * * *``) runs on every real instant, i.e. in both passes.

Misfires
  A tick is *late* when the pass that sees it comes more than ``misfire_threshold`` after it
  (default: two ticks of the loop, at least 5 s): the service was down, or the loop or the
  database stalled. On-time ticks always run. Late ticks within ``misfire_grace`` (default
  300 s, setting ``misfire_grace_seconds``) collapse into one run of the latest of them
  (`MisfirePolicy.RUN_ONCE`, the default; none when a tick is on time in the same pass, so
  start-up after downtime is one run) or into none (`MisfirePolicy.SKIP`); late ticks
  older than the grace never run. Where a script "was" is the latest tick any instance
  claimed for it (``ledger.last_claimed``) or, if later, its ``updated_at`` (unless that is
  in the future): a new, re-enabled or re-scheduled script never fires ticks from before it
  was saved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from alloy_scripting import telemetry
from alloy_scripting.model.script import CronTrigger, Script
from alloy_scripting.runner.cron import last_tick, next_tick, ticks_between
from alloy_scripting.settings import Settings
from alloy_scripting.storage.protocols import ScriptRegistry, TickLedger

if TYPE_CHECKING:
    from alloy_scripting.runner.service import Runtime

logger = logging.getLogger("alloy.scheduler")

ScheduledRun = Callable[[Script, datetime], Awaitable[Any]]
Clock = Callable[[], datetime]
Tick = tuple[str, datetime]


class MisfirePolicy(StrEnum):
    """What to do with the ticks missed while the service was down (within the grace)."""

    RUN_ONCE = "run_once"
    """Run the latest missed tick once; drop the others."""
    SKIP = "skip"
    """Run none of them."""


def _now() -> datetime:
    return datetime.now(UTC)


def next_run_at(script: Script, now: datetime | None = None) -> datetime | None:
    """When an active cron script runs next (UTC); None for other scripts."""
    if not script.is_active or not isinstance(script.trigger, CronTrigger):
        return None
    return next_tick(script.trigger, now or _now())


def plan_ticks(
    trigger: CronTrigger,
    position: datetime,
    now: datetime,
    *,
    policy: MisfirePolicy = MisfirePolicy.RUN_ONCE,
    grace: timedelta = timedelta(seconds=300),
    threshold: timedelta = timedelta(seconds=5),
) -> list[datetime]:
    """The ticks to claim now for a trigger last handled up to ``position`` (exclusive).

    On-time ticks (``now - threshold < t <= now``) all run; late ones within the grace
    collapse to the latest (RUN_ONCE) or to none (SKIP); older ones never run. A collapsed
    late tick runs only when no tick is on time: after downtime, one run, never a burst.
    """
    cutoff = now - threshold
    on_time = ticks_between(trigger, max(position, cutoff), now)
    if on_time or policy is not MisfirePolicy.RUN_ONCE:
        return on_time
    missed = last_tick(trigger, max(position, now - grace), cutoff)
    return [] if missed is None else [missed]


@dataclass
class _Cursor:
    trigger: CronTrigger
    position: datetime
    """Every tick of the script up to here (inclusive) was handled by this instance."""


class Scheduler:
    """Runs active cron scripts at their times; see the module documentation."""

    def __init__(
        self,
        registry: ScriptRegistry,
        ledger: TickLedger,
        run: ScheduledRun,
        *,
        instance_id: str,
        tick_seconds: float = 1.0,
        misfire_policy: MisfirePolicy = MisfirePolicy.RUN_ONCE,
        misfire_grace: timedelta = timedelta(seconds=300),
        misfire_threshold: timedelta | None = None,
        refresh_seconds: float = 0.0,
        max_concurrency: int = 16,
        max_backlog: int = 10,
        clock: Clock = _now,
    ) -> None:
        if tick_seconds <= 0:
            raise ValueError("tick_seconds must be > 0")
        if max_concurrency < 1 or max_backlog < 1:
            raise ValueError("max_concurrency and max_backlog must be >= 1")
        self.registry = registry
        self.ledger = ledger
        self.run = run
        self.instance_id = instance_id
        self.tick_seconds = tick_seconds
        self.misfire_policy = MisfirePolicy(misfire_policy)
        self.misfire_grace = misfire_grace
        self.misfire_threshold = misfire_threshold or timedelta(seconds=max(2 * tick_seconds, 5))
        self.refresh_seconds = refresh_seconds
        self.max_backlog = max_backlog
        self.clock = clock
        self._limit = asyncio.Semaphore(max_concurrency)
        self._cursors: dict[str, _Cursor] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._backlog: Counter[str] = Counter()
        self._jobs: set[asyncio.Task[None]] = set()
        self._scripts: list[Script] = []
        self._loaded_at: datetime | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        registry: ScriptRegistry,
        ledger: TickLedger,
        run: ScheduledRun,
        *,
        instance_id: str,
        **options: Any,
    ) -> Scheduler:
        """A scheduler with ``scheduler_tick_seconds`` and ``misfire_grace_seconds``."""
        return cls(
            registry,
            ledger,
            run,
            instance_id=instance_id,
            tick_seconds=settings.scheduler_tick_seconds,
            misfire_grace=timedelta(seconds=settings.misfire_grace_seconds),
            **options,
        )

    @classmethod
    def for_runtime(cls, runtime: Runtime, **options: Any) -> Scheduler:
        """The service's scheduler: the runtime's stores, orchestrator, settings and id."""
        return cls.from_settings(
            runtime.settings,
            runtime.stores.scripts,
            runtime.stores.ticks,
            runtime.orchestrator.run_scheduled,
            instance_id=runtime.instance_id,
            **options,
        )

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the background loop (idempotent)."""
        if self.running:
            return
        self._stopping.clear()
        self._task = asyncio.create_task(self._loop(), name=f"scheduler-{self.instance_id}")

    async def stop(self, wait_seconds: float | None = 30.0) -> None:
        """Stop the loop after its current pass and wait for the running jobs; those still
        running after ``wait_seconds`` are cancelled (None: wait for ever)."""
        self._stopping.set()
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), wait_seconds)
            except TimeoutError:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.join(wait_seconds)

    async def join(self, wait_seconds: float | None = None) -> None:
        """Wait for the runs started so far; cancel those still running after ``wait_seconds``."""
        if not self._jobs:
            return
        _, pending = await asyncio.wait(set(self._jobs), timeout=wait_seconds)
        for job in pending:
            job.cancel()
        if pending:
            await asyncio.wait(pending)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_pending()
            except Exception:
                logger.exception("scheduler pass failed; retrying at the next tick")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._delay())

    def _delay(self) -> float:
        """Seconds to the next multiple of ``tick_seconds`` (plus a little, to be past it)."""
        phase = self.clock().timestamp() % self.tick_seconds
        return min(max(self.tick_seconds - phase, 0.0) + 0.002, self.tick_seconds)

    # -- one pass -------------------------------------------------------------------------

    async def run_pending(self, now: datetime | None = None, *, wait: bool = False) -> list[Tick]:
        """One pass: claim and start the due ticks of every active cron script.

        Returns the ticks this instance claimed, as (script id, UTC instant). The runs go on
        in the background; ``wait=True`` waits for them (as `join` does).
        """
        now = (now or self.clock()).astimezone(UTC)
        scripts = await self._active_scripts(now)
        for gone in self._cursors.keys() - {s.id for s in scripts}:
            del self._cursors[gone]
            lock = self._locks.get(gone)
            if lock is not None and not lock.locked():
                del self._locks[gone]
        planned = await asyncio.gather(*(self._claim_due(s, now) for s in scripts))
        claimed = [tick for ticks in planned for tick in ticks]
        if wait:
            await self.join()
        return claimed

    async def _active_scripts(self, now: datetime) -> list[Script]:
        fresh = (
            self._loaded_at is not None
            and self.refresh_seconds > 0
            and now - self._loaded_at < timedelta(seconds=self.refresh_seconds)
        )
        if not fresh:
            found = await self.registry.find_active_cron()
            self._scripts = [s for s in found if isinstance(s.trigger, CronTrigger)]
            self._loaded_at = now
        return self._scripts

    @staticmethod
    def _saved_at(script: Script, now: datetime) -> datetime | None:
        """When the script was last saved; None if that is in the future (clock skew)."""
        return script.updated_at if script.updated_at <= now else None

    async def _claim_due(self, script: Script, now: datetime) -> list[Tick]:
        assert isinstance(script.trigger, CronTrigger)
        claimed: list[Tick] = []
        try:
            trigger = script.trigger
            cursor = self._cursors.get(script.id)
            if cursor is None:
                known = [await self.ledger.last_claimed(script.id), self._saved_at(script, now)]
                cursor = _Cursor(trigger, max((t for t in known if t is not None), default=now))
                self._cursors[script.id] = cursor
            elif cursor.trigger != trigger:
                # A new expression or zone counts from the edit, not from before it.
                cursor.trigger = trigger
                saved = self._saved_at(script, now)
                if saved is not None:
                    cursor.position = max(cursor.position, saved)
            due = plan_ticks(
                trigger,
                cursor.position,
                now,
                policy=self.misfire_policy,
                grace=self.misfire_grace,
                threshold=self.misfire_threshold,
            )
            for at in due:
                if self._backlog[script.id] >= self.max_backlog:
                    logger.warning(
                        "script %s is %d runs behind; not claiming its tick %s here",
                        script.id, self._backlog[script.id], at.isoformat(),
                    )  # fmt: skip
                elif await self.ledger.claim(script.id, at, self.instance_id):
                    claimed.append((script.id, at))
                    self._start_job(script, at)
                cursor.position = at
            cursor.position = max(cursor.position, now)
        except Exception:
            logger.exception("could not schedule script %s; retrying at the next pass", script.id)
        return claimed

    # -- runs -----------------------------------------------------------------------------

    def _start_job(self, script: Script, at: datetime) -> None:
        telemetry.SCHEDULED_RUNS.inc()
        self._backlog[script.id] += 1
        job = asyncio.create_task(self._execute(script, at), name=f"cron-{script.id}-{at:%H%M%S}")
        self._jobs.add(job)
        job.add_done_callback(self._jobs.discard)

    async def _execute(self, script: Script, at: datetime) -> None:
        lock = self._locks.setdefault(script.id, asyncio.Lock())
        try:
            async with lock, self._limit:
                await self.run(script, at)
        except Exception:
            logger.exception("scheduled run of script %s at %s failed", script.id, at.isoformat())
        finally:
            self._backlog[script.id] -= 1
            if self._backlog[script.id] <= 0:
                del self._backlog[script.id]
