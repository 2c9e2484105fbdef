"""Shadow runs: a candidate version of an active script runs beside it on live events.

The orchestrator asks `ShadowRunner.pick` before each hook run of a script; for a sampled
event of a script with a running shadow it keeps a `ShadowJob` (the input the active
version saw, and later its result). The hook's caller starts the jobs with `launch` once
its answer is sent (the processor: after handing the reply to the producer, or after the
effects are published), so the answer never waits for a shadow run.

A shadow run goes through the worker pool's `run_if_free`: it takes a worker only when one
is idle, nobody waits and the tenant is below its fair share; otherwise it is skipped (and
counted as `skipped`), never queued before live runs. It performs no side effect: HTTP
calls are refused as in a debug run, `emit` is only recorded, `store.*` reads work and
writes are refused (a read-only state context). It writes no execution record and never
counts towards the script's failures. Its result is compared with the active one's
(`model.shadow.compare`) and tallied per instance; the tallies are written to the store
shortly after (one writer per document), and `summary` merges every instance's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from alloy_scripting.bridge.state import StateContext, StateLimits
from alloy_scripting.bridge.state.store import StateStore
from alloy_scripting.engine import ScriptEngine
from alloy_scripting.model.debug import DebugEffects
from alloy_scripting.model.enums import EventType, ExecutionPhase
from alloy_scripting.model.result import ExecutionResult
from alloy_scripting.model.script import Script, utc_now
from alloy_scripting.model.shadow import Shadow, ShadowSummary, ShadowTally, compare
from alloy_scripting.runner.workers import RunRequest, WorkerPool
from alloy_scripting.storage.protocols import ShadowStore

logger = logging.getLogger("alloy.shadow")


@dataclass(slots=True)
class ShadowJob:
    """One sampled live run of a script with a shadow: its input and the active result."""

    shadow: Shadow
    script: Script
    phase: ExecutionPhase
    event: EventType | None
    entity_type: str
    entity_id: str | None
    entity: dict[str, Any]
    entity_before: dict[str, Any] | None
    user_id: str | None
    correlation_id: str | None
    event_id: str | None
    active: ExecutionResult | None = None


class ShadowRunner:
    def __init__(
        self,
        store: ShadowStore,
        engine: ScriptEngine,
        *,
        instance_id: str,
        pool: WorkerPool | None = None,
        state: StateStore | None = None,
        state_limits: StateLimits | None = None,
        ttl: float = 10.0,
        flush_linger: float = 0.2,
        inline_limit: int = 1,
        sampler: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.engine = engine
        self.instance_id = instance_id
        self.pool = pool
        self.state = state
        self.state_limits = state_limits or StateLimits()
        self.ttl = ttl
        self.flush_linger = flush_linger
        self.inline_limit = inline_limit
        """Inline mode (no pool): shadow runs in threads at once, at most this many."""
        self._sampler = sampler
        self._clock = clock
        self._cache: dict[str | None, tuple[float, dict[str, Shadow]]] = {}
        self._loading: dict[str | None, asyncio.Future[dict[str, Shadow]]] = {}
        self._generation = 0
        self._tallies: dict[str, ShadowTally] = {}
        self._dirty: set[str] = set()
        self._flushing: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._inline = 0

    # -- which scripts have a shadow -----------------------------------------------------

    def invalidate(self, tenant_id: str | None) -> None:
        """A script (or shadow) of the tenant changed, here or on another instance."""
        self._generation += 1
        self._cache.pop(tenant_id, None)

    async def _of_tenant(self, tenant_id: str | None) -> dict[str, Shadow]:
        entry = self._cache.get(tenant_id)
        if entry is not None and self._clock() - entry[0] < self.ttl:
            return entry[1]
        pending = self._loading.get(tenant_id)
        if pending is not None:
            return await asyncio.shield(pending)
        generation = self._generation
        future: asyncio.Future[dict[str, Shadow]] = asyncio.get_running_loop().create_future()
        self._loading[tenant_id] = future
        try:
            found = {s.script_id: s for s in await self.store.of_tenant(tenant_id)}
        except Exception:
            logger.exception("cannot read shadow runs; none run until the next try")
            found = {}
        finally:
            self._loading.pop(tenant_id, None)
        future.set_result(found)
        if generation == self._generation:
            self._cache[tenant_id] = (self._clock(), found)
        return found

    async def pick(self, script: Script) -> Shadow | None:
        """The running shadow of `script` if this event is sampled for it (never raises)."""
        shadow = (await self._of_tenant(script.tenant_id)).get(script.id)
        if shadow is None or not shadow.running():
            return None
        if shadow.sample < 1.0 and self._sampler() >= shadow.sample:
            return None
        return shadow

    # -- running them --------------------------------------------------------------------

    def launch(self, jobs: Iterable[ShadowJob], after: Awaitable[Any] | None = None) -> None:
        """Run the jobs in the background (after `after`, whatever it ends with)."""
        jobs = [job for job in jobs if job.active is not None]
        if not jobs:
            return
        task = asyncio.get_running_loop().create_task(self._run_all(jobs, after))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_all(self, jobs: list[ShadowJob], after: Awaitable[Any] | None) -> None:
        if after is not None:
            with contextlib.suppress(Exception):  # the live path reports its own failures
                await after
        for job in jobs:
            try:
                await self.run(job)
            except Exception:
                logger.exception("shadow run of %s failed", job.script.name)

    async def run(self, job: ShadowJob) -> None:
        """Run one job's candidate and tally the comparison (or the skip)."""
        tally = self._tallies.setdefault(job.shadow.id, ShadowTally())
        candidate = await self._candidate(job)
        if candidate is None:
            tally.skip()
        else:
            assert job.active is not None
            verdict, diff = compare(job.active, candidate)
            example = None
            if verdict != "same":
                example = {
                    "at": utc_now().isoformat(),
                    "execution_id": job.active.execution_id,
                    "event_id": job.event_id,
                    "entity_id": job.entity_id,
                    **diff,
                }
            tally.add(verdict, example)
        self._changed(job.shadow.id)

    async def _candidate(self, job: ShadowJob) -> ExecutionResult | None:
        """The candidate's result on the job's input; None when no worker was free."""
        script = job.script
        ctx = {
            "tenant_id": script.tenant_id,
            "user_id": job.user_id,
            "entity_type": job.entity_type,
            "entity_id": job.entity_id,
            "correlation_id": job.correlation_id,
        }
        if self.pool is not None:
            return await self.pool.run_if_free(
                RunRequest(
                    job.shadow.source,
                    job.phase,
                    event=job.event,
                    entity=job.entity,
                    entity_before=job.entity_before,
                    ctx=ctx,
                    script_name=script.name,
                    limits=script.limits,
                    tenant_id=script.tenant_id,
                    state=self._read_only_state(script, job.phase),
                    shadow=True,
                    config=script.config,
                )
            )
        if self._inline >= self.inline_limit:
            return None
        self._inline += 1
        try:
            result, _ = await asyncio.to_thread(
                self.engine.debug,
                job.shadow.source,
                effects=DebugEffects(),
                phase=job.phase,
                entity=job.entity,
                event=job.event,
                entity_before=job.entity_before,
                ctx=ctx,
                script_name=script.name,
                trace=False,
                config=script.config,
            )
            return result
        finally:
            self._inline -= 1

    def _read_only_state(self, script: Script, phase: ExecutionPhase) -> StateContext | None:
        if self.state is None:
            return None
        ctx = StateContext.for_run(self.state, script.tenant_id, phase, self.state_limits)
        ctx.read_only = True
        return ctx

    # -- tallies -------------------------------------------------------------------------

    def tally(self, shadow_id: str) -> ShadowTally:
        """This instance's tally of a shadow (empty if it ran none here)."""
        return self._tallies.get(shadow_id) or ShadowTally()

    def _changed(self, shadow_id: str) -> None:
        self._dirty.add(shadow_id)
        if shadow_id not in self._flushing:
            task = asyncio.get_running_loop().create_task(self._flush(shadow_id))
            self._flushing[shadow_id] = task

    async def _flush(self, shadow_id: str) -> None:
        try:
            await asyncio.sleep(self.flush_linger)
            while shadow_id in self._dirty:
                self._dirty.discard(shadow_id)
                tally = self._tallies.get(shadow_id)
                if tally is None:
                    return
                try:
                    await self.store.save_tally(shadow_id, self.instance_id, tally)
                except Exception:
                    logger.exception("cannot save a shadow tally; retrying")
                    self._dirty.add(shadow_id)
                    await asyncio.sleep(1.0)
        finally:
            self._flushing.pop(shadow_id, None)

    async def flush(self) -> None:
        """Write every changed tally now (tests, shutdown)."""
        for shadow_id in list(self._dirty):
            self._dirty.discard(shadow_id)
            tally = self._tallies.get(shadow_id)
            if tally is not None:
                await self.store.save_tally(shadow_id, self.instance_id, tally)

    def forget(self, shadow_id: str) -> None:
        self._tallies.pop(shadow_id, None)
        self._dirty.discard(shadow_id)

    async def summary(self, shadow: Shadow) -> ShadowSummary:
        """Every instance's tally merged (this instance's as it is in memory now)."""
        tallies = await self.store.tallies(shadow.id)
        mine = self._tallies.get(shadow.id)
        if mine is not None:
            tallies[self.instance_id] = mine
        return ShadowSummary.merge(list(tallies.values()))

    async def wait_idle(self) -> None:
        """Until the launched jobs are done (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
