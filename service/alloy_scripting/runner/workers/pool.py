"""`WorkerPool`: runs scripts in worker processes, fairly between tenants.

* `size` workers (default: the CPU count) start at `start()`; each is replaced when it
  dies, times out, runs out of memory or breaks the protocol, and recycled (a fresh one
  started first, so capacity never dips) after `recycle_after` runs.
* A run waits for a free worker in its tenant's queue (`fairness.FairQueue`: at most
  `per_tenant` workers per tenant, tenants served round-robin), at most `wait_limit`
  seconds; past that it is answered `timeout` (limit `queue`) without running.
* The service enforces the deadline (`process.WorkerProcess.execute`) and does the
  run's host calls (`bridge.host_calls`) under the run's host-call time budget.
* Whatever happens to a worker, `run` returns an `ExecutionResult`; only that run is
  affected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import secrets
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from alloy_scripting.bridge.host_calls import HOST_FUNCTIONS, HostCallFailed, HostRun
from alloy_scripting.bridge.http.helpers import HttpRuns
from alloy_scripting.bridge.state.context import StateContext
from alloy_scripting.engine.config import EngineConfig
from alloy_scripting.model.enums import EventType, ExecutionPhase, ExecutionStatus
from alloy_scripting.model.limits import ScriptLimits
from alloy_scripting.model.result import ExecutionResult, ScriptError
from alloy_scripting.runner.workers import metrics, protocol
from alloy_scripting.runner.workers.child import MAX_QUEUED_RUNS
from alloy_scripting.runner.workers.debug_runs import TRACER_SECONDS, DebugRun
from alloy_scripting.runner.workers.fairness import FairQueue, Waiter
from alloy_scripting.runner.workers.forkserver import ForkFailed, ForkServer
from alloy_scripting.runner.workers.process import Outcome, Timing, WorkerProcess
from alloy_scripting.runner.workers.results import to_result

logger = logging.getLogger("alloy.workers")


def available_cpus() -> int:
    """CPUs this process may use: its affinity, capped by a cgroup v2 CPU quota (a
    container's CPU limit, which `os.cpu_count()` does not see)."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    try:
        with open("/sys/fs/cgroup/cpu.max") as limits:
            quota, period = limits.read().split()[:2]
        if quota != "max":
            count = min(count, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, count)


def default_per_tenant(size: int) -> int:
    """A tenant may hold all workers but a quarter of them (at least one is left over
    for the others when there are two or more)."""
    return max(1, size - max(1, size // 4))


@dataclass(frozen=True, slots=True)
class PoolConfig:
    size: int = field(default_factory=available_cpus)
    per_tenant: int | None = None
    recycle_after: int = 1000
    memory_limit: int = 512 * 1024 * 1024
    start_timeout: float = 30.0
    kill_grace: float = 0.03
    #: After a `timeout` answer, how long the worker may take to finish before it is killed.
    kill_after: float = 0.2
    compile_allowance: float = 2.0
    host_call_budget: float = 2.0
    max_host_calls: int = 1000
    max_wait: float = 30.0
    #: Pipelining: a run may be sent to a busy worker (taken as soon as the run ahead of it
    #: is done, with no round trip through the service in between) when no worker is
    #: free and the run ahead is expected to take at most this long (its script's last
    #: run); 0 turns it off. Never behind a slow or unknown script, so a slow tenant's
    #: runs never hold a quick one.
    pipeline_below: float = 0.002
    #: Pipelining: at most this many runs sent to one worker at once (the running one
    #: included), all of them expected to end within `pipeline_below`.
    pipeline_depth: int = 64
    #: Borrowing: a tenant at its cap may still take an idle worker for a run expected to
    #: take at most this long (its script's last run) when no run of another tenant
    #: waits; the worker is free again within that time, so the cap's promise (capacity
    #: left for the others) holds to within one quick run. 0 turns it off.
    borrow_below: float = 0.002
    #: Workers run this much nicer than the service (`os.nice`): a script burning CPU
    #: never delays the event loop that consumes, dispatches and answers for everyone.
    nice: int = 5
    #: Workers are forked by a zygote (`forkserver`): a clean interpreter started and
    #: warmed once, so a new worker costs milliseconds, not a fresh interpreter's start-up
    #: (~350 ms of CPU). False, or a zygote that cannot start: each worker is spawned.
    fork_server: bool = True

    def __post_init__(self) -> None:
        if self.size < 1 or (self.per_tenant is not None and self.per_tenant < 1):
            raise ValueError("the pool needs at least one worker, and a tenant at least one")
        if not 1 <= self.pipeline_depth <= MAX_QUEUED_RUNS + 1:
            raise ValueError(f"pipeline_depth is 1 to {MAX_QUEUED_RUNS + 1}")

    @property
    def tenant_cap(self) -> int:
        return self.per_tenant or default_per_tenant(self.size)


@dataclass(slots=True)
class RunRequest:
    """One script run, as plain data (what crosses to the worker)."""

    source: str
    phase: ExecutionPhase
    event: EventType | None = None
    entity: dict[str, Any] | None = None
    entity_before: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    ctx: dict[str, Any] | None = None
    script_name: str | None = None
    limits: ScriptLimits | None = None
    """The script's own time, operations and call depth (bounded by the API)."""
    tenant_id: str | None = None
    wait_limit: float | None = None
    state: StateContext | None = None
    """The run's ``store.*`` context (built by the caller; stays in the service)."""
    debug: DebugRun | None = None
    """A debug run (no side effects, a trace): its trace and intents land here."""
    shadow: bool = False
    """A shadow run (`runner.shadow`): no HTTP call is made (the helpers raise, as in a
    debug run without fixtures); emits are only recorded; pass a read-only `state`."""
    config: dict[str, Any] | None = None
    """The script's `config` (its template parameters)."""

    def frame(self) -> dict[str, Any]:
        frame = {
            "t": "run",
            "id": secrets.randbits(63),  # echoed in the result: a frame sent early cannot match
            "source": self.source,
            "phase": self.phase.value,
            "event": None if self.event is None else self.event.value,
            "entity": self.entity,
            "entity_before": self.entity_before,
            "params": self.params,
            "ctx": self.ctx,
            "script_name": self.script_name,
            "limits": None if self.limits is None else self.limits.model_dump(),
            "config": self.config,
        }
        if self.debug is not None:
            frame["debug"] = self.debug.frame()
        return frame

    @property
    def traced(self) -> bool:
        return self.debug is not None and self.debug.trace


#: What a traced run's source is known as to a worker (never the plain source's entry).
TRACED_KEY = "\x00traced\x00"


class QueueTimeout(Exception):
    pass


class WorkerPool:
    def __init__(
        self,
        engine_config: EngineConfig | None = None,
        config: PoolConfig | None = None,
        *,
        http: HttpRuns | None = None,
    ):
        self.engine_config = engine_config or EngineConfig()
        self.config = config or PoolConfig()
        self.http = http  # None: the HTTP helpers answer "not configured"; closed with the pool
        self.queue = FairQueue(self.config.tenant_cap)
        metrics.count_waiting(self.queue)
        self.timing = Timing(
            self.engine_config.timeout, self.config.kill_grace, self.config.compile_allowance
        )
        self._idle: list[WorkerProcess] = []
        self._workers: set[WorkerProcess] = set()
        self._retiring: set[WorkerProcess] = set()
        self._starting = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._started = False
        self._start_lock = asyncio.Lock()
        self._confinement_logged = False
        self.restarts: dict[str, int] = {}
        self._spare_runs = 0
        """Runs in flight started by `run_if_free` (shadow runs)."""
        #: Seconds each script took on its last run (wall time in the worker), bounded.
        self._costs: dict[str, float] = {}
        self._fork_server: ForkServer | None = None
        self._fork_lock = asyncio.Lock()
        self._fork_retry_at = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def _init(self) -> dict[str, Any]:
        config = self.config
        cpu = max(60, int(config.recycle_after * (self.engine_config.timeout + 0.05) * 2))
        return {
            "engine": asdict(self.engine_config),
            "memory_limit": config.memory_limit,
            "cpu_seconds": cpu,
            "nice": config.nice,
        }

    async def start(self) -> None:
        """Start the workers; returns when all are ready (raises if none could start).
        Does nothing when started already; a closed pool starts again."""
        async with self._start_lock:
            if self._started:
                return
            self._closed = False
            results = await asyncio.gather(
                *(self._spawn() for _ in range(self.config.size)), return_exceptions=True
            )
            if not self._workers:
                failure = next((r for r in results if isinstance(r, BaseException)), None)
                raise RuntimeError(f"no worker process could start: {failure!r}")
            self._started = True

    async def close(self) -> None:
        self._closed = True
        self._started = False
        for task in list(self._tasks):
            task.cancel()
        workers = list(self._workers)
        self._workers.clear()
        self._idle.clear()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)
        server, self._fork_server = self._fork_server, None
        if server is not None:
            await server.stop()
        if self.http is not None:
            await self.http.aclose()
        for waiter_queue in self.queue.queues.values():
            for waiter in waiter_queue:
                if not waiter.future.done():
                    waiter.future.set_exception(RuntimeError("the worker pool is closed"))
        metrics.WORKERS.set(0)

    async def __aenter__(self) -> WorkerPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def workers(self) -> int:
        return len(self._workers)

    def pids(self) -> list[int]:
        return sorted(worker.pid for worker in self._workers)

    async def _spawn(self) -> WorkerProcess:
        self._starting += 1
        try:
            worker = await self._start_process()
        finally:
            self._starting -= 1
        if self._closed:
            await worker.stop()
            raise RuntimeError("the worker pool is closed")
        if not self._confinement_logged:
            self._confinement_logged = True
            seccomp = worker.ready.get("seccomp")
            log = logger.info if seccomp == "on" else logger.warning
            log(
                "worker processes confined: seccomp %s; limits %s",
                seccomp,
                worker.ready.get("limits"),
            )
        self._workers.add(worker)
        metrics.WORKERS.set(len(self._workers))
        self._idle.append(worker)
        self._dispatch()
        return worker

    async def _start_process(self) -> WorkerProcess:
        """A new worker: forked by the zygote when there is one, else spawned."""
        server = await self._zygote() if self.config.fork_server else None
        if server is not None:
            try:
                return await WorkerProcess.fork(server, self.config.start_timeout)
            except ForkFailed as error:
                logger.warning("could not fork a worker (%s); spawning one", error)
        return await WorkerProcess.start(self._init(), self.config.start_timeout)

    async def _zygote(self) -> ForkServer | None:
        """The running zygote, started (again) if needed; None while one cannot start (the
        workers are spawned meanwhile, and a start is tried again a minute later)."""
        async with self._fork_lock:
            server = self._fork_server
            if server is not None and server.alive:
                return server
            loop = asyncio.get_running_loop()
            if self._closed or loop.time() < self._fork_retry_at:
                return None
            if server is not None:
                self._background(server.stop())
            self._fork_server = None
            try:
                self._fork_server = await ForkServer.start(self._init(), self.config.start_timeout)
            except Exception as error:
                self._fork_retry_at = loop.time() + ZYGOTE_RETRY_SECONDS
                logger.warning("no zygote for the workers (%s); spawning them", error)
                return None
            if self._closed:
                await self._fork_server.stop()
                self._fork_server = None
                return None
            return self._fork_server

    def _background(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _replace(self, worker: WorkerProcess, reason: str) -> None:
        """Drop a dead or doomed worker and start another in its place."""
        worker.kill()
        self._workers.discard(worker)
        self._retiring.discard(worker)
        metrics.WORKERS.set(len(self._workers))
        metrics.RESTARTS.labels(reason).inc()
        self.restarts[reason] = self.restarts.get(reason, 0) + 1
        if not self._closed:
            self._background(self._respawn())

    async def _respawn(self) -> None:
        delay = 0.1
        while not self._closed:
            try:
                await self._spawn()
                return
            except Exception as error:
                logger.error("could not start a worker process (%s); retrying", error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _recycle(self, old: WorkerProcess) -> None:
        """A fresh worker first, then the old one leaves (now if idle, else when done)."""
        await self._respawn()
        self._retiring.discard(old)
        old.retired = True
        if old in self._idle:
            self._idle.remove(old)
            self._retire(old)

    def _retire(self, worker: WorkerProcess) -> None:
        self._workers.discard(worker)
        metrics.WORKERS.set(len(self._workers))
        metrics.RESTARTS.labels("recycle").inc()
        self.restarts["recycle"] = self.restarts.get("recycle", 0) + 1
        self._background(worker.stop())

    # -- dispatch --------------------------------------------------------------------------

    def _dispatch(self) -> None:
        """Give free workers to waiting runs, tenants in turn, each within its cap; then
        pipeline waiting runs on busy workers (`_pipelined`)."""
        while self._dispatch_one():
            pass

    def _dispatch_one(self) -> bool:
        if not self.queue.queues:  # no run waits
            return False
        if self._idle:
            # Below its cap first; else (every waiting tenant at its cap) a quick run.
            waiter = self.queue.next_waiter() or self.queue.next_quick(self.config.borrow_below)
            if waiter is not None:
                self._hand(self._idle[-1], waiter)
                return True
        worker = self._pipelined()
        if worker is None:
            return False
        waiter = self.queue.next_waiter(
            lambda tenant: tenant in worker.tenants or self.queue.below_cap(tenant)
        )
        if waiter is None:
            return False
        self._hand(worker, waiter)
        return True

    def _hand(self, worker: WorkerProcess, waiter: Waiter) -> None:
        if not waiter.future.done():  # else it gave up meanwhile
            self._take(worker, waiter.tenant, waiter.cost)
            waiter.future.set_result(worker)

    def _pipelined(self) -> WorkerProcess | None:
        """A busy worker a run may be sent to now: fewer than `pipeline_depth` runs in
        flight, expected to end within `pipeline_below` (the least loaded such worker), or
        None."""
        below, depth = self.config.pipeline_below, self.config.pipeline_depth
        best: WorkerProcess | None = None
        for worker in self._workers:
            if (
                0 < worker.in_flight < depth
                and worker.backlog <= below
                and worker.alive
                and not worker.overdue
                and not worker.retired
                and worker not in self._retiring
                and (best is None or worker.backlog < best.backlog)
            ):
                best = worker
        return best

    def _take(self, worker: WorkerProcess, tenant: str, cost: float) -> None:
        """`worker` takes a run of `tenant`: the tenant holds one more worker unless it
        holds this one already."""
        held = worker.tenants.get(tenant, 0)
        if not held:
            self.queue.started(tenant)
        worker.tenants[tenant] = held + 1
        if worker.in_flight == 0:
            self._idle.remove(worker)
        worker.in_flight += 1
        worker.backlog += cost

    async def _acquire(self, tenant: str, wait_limit: float | None, cost: float) -> WorkerProcess:
        if tenant not in self.queue.queues:  # none of its runs waits ahead of this one
            if self._idle and (
                self.queue.below_cap(tenant)
                or (cost <= self.config.borrow_below and not self.queue.waiting())
            ):
                free: WorkerProcess | None = self._idle[-1]
            elif (free := self._pipelined()) is not None and not (
                tenant in free.tenants or self.queue.below_cap(tenant)
            ):
                free = None
            if free is not None:
                self._take(free, tenant, cost)
                return free
        loop = asyncio.get_running_loop()
        waiter = Waiter(tenant, loop.create_future(), loop.time(), cost)
        self.queue.push(waiter)
        limit = self.config.max_wait if wait_limit is None else wait_limit
        # A timer on the waiter's own future (no `wait_for` task per waiting run).
        timer = loop.call_later(max(limit, 0.0), _give_up, waiter.future)
        try:
            worker: WorkerProcess = await waiter.future
            return worker
        except BaseException:
            self.queue.discard(waiter)
            if waiter.future.done() and not waiter.future.cancelled():
                if waiter.future.exception() is None:  # a worker arrived as we gave up
                    self._release(waiter.future.result(), tenant, cost)
            else:
                waiter.future.cancel()
            raise
        finally:
            timer.cancel()

    def _release(self, worker: WorkerProcess, tenant: str, cost: float) -> None:
        held = worker.tenants.get(tenant, 0) - 1
        if held > 0:
            worker.tenants[tenant] = held
        else:
            worker.tenants.pop(tenant, None)
            self.queue.finished(tenant)
        worker.in_flight -= 1
        worker.backlog = max(0.0, worker.backlog - cost) if worker.in_flight else 0.0
        if worker.in_flight == 0 and worker.alive and worker in self._workers:
            if worker.retired:
                self._retire(worker)
            else:
                if worker.runs >= self.config.recycle_after and worker not in self._retiring:
                    self._retiring.add(worker)
                    self._background(self._recycle(worker))
                self._idle.append(worker)
        # The tenant, below its cap again, may have runs waiting while other workers idle.
        self._dispatch()

    # -- runs ------------------------------------------------------------------------------

    @property
    def spare_limit(self) -> int:
        """How many `run_if_free` runs may be in flight at once: half the pool (at least 1)."""
        return max(1, self.config.size // 2)

    def _take_spare(self, tenant: str, cost: float) -> WorkerProcess | None:
        """An idle worker for a run that must never make another wait: only when no run of
        any tenant is waiting, the tenant is below its fair share, and fewer than
        `spare_limit` such runs are in flight."""
        if (
            not self._started
            or not self._idle
            or self.queue.waiting()
            or not self.queue.below_cap(tenant)
            or self._spare_runs >= self.spare_limit
            or not self._idle[-1].healthy  # a live run replaces it; this run is skipped
        ):
            return None
        worker = self._idle[-1]
        self._take(worker, tenant, cost)
        return worker

    async def run_if_free(self, request: RunRequest) -> ExecutionResult | None:
        """`run` when a worker is free now (see `_take_spare`), else None at once (the run
        is skipped, never queued). For work that must not delay the live runs."""
        tenant = request.tenant_id or ""
        worker = self._take_spare(tenant, self._expected_cost(request))
        if worker is None:
            return None
        self._spare_runs += 1
        try:
            return await self.run(request, _worker=worker)
        finally:
            self._spare_runs -= 1

    async def run(
        self, request: RunRequest, *, _worker: WorkerProcess | None = None
    ) -> ExecutionResult:
        """Run one script in a worker (starting the pool on first use); never raises for
        anything the script or the worker does."""
        queued = time.perf_counter()
        if _worker is None and not self._started:
            if self._closed:
                return self._synthetic(request, ExecutionStatus.ERROR, None, "WorkerError",
                                       "the service is stopping", queued)  # fmt: skip
            await self.start()
        tenant = request.tenant_id or ""
        cost = self._expected_cost(request)
        try:
            message = request.frame()
            frame = protocol.encode_run(message)
            if len(frame) > protocol.MAX_REQUEST_FRAME:
                raise ValueError(f"more than {protocol.MAX_REQUEST_FRAME} bytes")
        except (TypeError, ValueError) as error:
            if _worker is not None:
                self._release(_worker, tenant, cost)
            return self._synthetic(
                request,
                ExecutionStatus.ERROR,
                None,
                "InvalidInput",
                f"the run's data is not JSON: {error}",
                queued,
            )
        timing = self._timing_of(request)
        host_run = HostRun(
            tenant_id=request.tenant_id,
            phase=request.phase,
            max_emits=self.engine_config.max_emits,
            max_emit_payload_size=self.engine_config.max_emit_payload_size,
            max_emit_total_size=self.engine_config.max_emit_total_size,
            state=request.state,
            http=None if self.http is None else self.http.run(request.tenant_id),
            no_effects=request.shadow,
        )
        host = self._host_handler(host_run, debug=request.debug is not None)
        # A traced compile is never cached: each traced run compiles, with its allowance.
        key = TRACED_KEY + request.source if request.traced else request.source
        for _ in range(MAX_UNSTARTED):
            try:
                if _worker is not None:  # taken by `run_if_free`
                    worker, _worker = _worker, None
                else:
                    worker = await self._acquire(tenant, request.wait_limit, cost)
                # Died while idle: never an innocent run's failure.
                while worker.in_flight == 1 and not worker.healthy:
                    self._replace(worker, "crash")
                    self._release(worker, tenant, cost)
                    worker = await self._acquire(tenant, request.wait_limit, cost)
            except QueueTimeout:
                metrics.QUEUE_TIMEOUTS.inc()
                return self._synthetic(
                    request,
                    ExecutionStatus.TIMEOUT,
                    "queue",
                    "QueueTimeout",
                    "no worker was free before the run's deadline",
                    queued,
                )
            started = time.perf_counter()
            metrics.QUEUE_WAIT.observe(started - queued)
            outcome: Outcome | None = None
            try:
                outcome = await worker.execute(frame, message["id"], key, timing, host)
                if request.traced:
                    worker.known.discard(key)
                if outcome.kind == "unstarted":  # a run ahead of it ended the worker
                    continue
                result = self._result(worker, request, outcome, host_run, started)
                if host_run.http is not None:
                    result.http_calls = host_run.http.audit()
                return result
            finally:
                if outcome is None and not worker.abandoning:  # cancelled: `execute` killed it
                    self._replace(worker, "cancelled")
                if worker.overdue and worker.alive and outcome is not None:
                    self._background(self._settle(worker, tenant, started, cost))
                else:
                    metrics.BUSY.observe(time.perf_counter() - started)
                    self._release(worker, tenant, cost)
        return self._synthetic(
            request,
            ExecutionStatus.ERROR,
            None,
            "WorkerError",
            "the script's worker processes failed before it could run",
            queued,
        )

    async def _settle(
        self, worker: WorkerProcess, tenant: str, started: float, cost: float
    ) -> None:
        """A worker whose run was answered `timeout`: back to the pool if it finishes
        within `kill_after`, else killed and replaced. The tenant holds it meanwhile."""
        try:
            if not await worker.settle(self.config.kill_after):
                self._replace(worker, "timeout")
        finally:
            metrics.BUSY.observe(time.perf_counter() - started)
            self._release(worker, tenant, cost)

    def _timing_of(self, request: RunRequest) -> Timing:
        """The pool's timing, with the script's own timeout if it has one."""
        limits = request.limits
        timing = self.timing
        if limits is not None and limits.timeout_ms is not None:
            timing = replace(timing, timeout=limits.timeout_ms / 1000)
        if request.traced:  # the tracer's own time is added to the run's deadline
            timing = replace(timing, timeout=timing.timeout + TRACER_SECONDS)
        return timing

    def _result(
        self,
        worker: WorkerProcess,
        request: RunRequest,
        outcome: Outcome,
        host_run: HostRun,
        started: float,
    ) -> ExecutionResult:
        if outcome.kind == "result" and outcome.frame is not None:
            try:
                result = to_result(
                    outcome.frame,
                    config=self.engine_config,
                    phase=request.phase,
                    entity=request.entity,
                    emitted=host_run.emitted,
                )
                if request.debug is not None:
                    result.emitted = request.debug.take(outcome.frame.get("debug"))
            except protocol.ProtocolError as error:
                logger.error("worker %d sent an invalid result: %s", worker.pid, error)
                self._replace(worker, "protocol")
                return self._synthetic(
                    request,
                    ExecutionStatus.ERROR,
                    None,
                    "WorkerError",
                    "the script's worker sent an invalid result",
                    started,
                )
            if result.limit == "memory":
                self._replace(worker, "memory")  # whatever it holds now, start afresh
            if host_run.state is not None:
                result.state_calls = [call.to_dict() for call in host_run.state.calls]
            cpu: Any = outcome.frame.get("cpu_ms")
            ran = cpu / 1000 if type(cpu) in (int, float) and cpu >= 0 else 0.0
            self._cost_of(request.source, result.duration_ms / 1000)
            timing = self._timing_of(request)
            late = ran > timing.timeout + timing.kill_grace
            if late and result.status is not ExecutionStatus.TIMEOUT:
                # Past its CPU deadline in one C step, and back before the service's clock
                # could act on it: still a timeout, never a late success.
                late_result = self._synthetic(
                    request,
                    ExecutionStatus.TIMEOUT,
                    "timeout",
                    "LimitExceeded",
                    self._timeout_message(request),
                    started,
                )
                late_result.state_calls = result.state_calls  # what it did stays on record
                return late_result
            return result
        self._cost_of(request.source, UNKNOWN_COST)
        if outcome.kind == "timeout":
            if not worker.overdue:  # the CPU-seconds backstop ended it
                self._replace(worker, "timeout")
            return self._synthetic(
                request,
                ExecutionStatus.TIMEOUT,
                "timeout",
                "LimitExceeded",
                self._timeout_message(request),
                started,
            )
        if outcome.kind == "memory":
            self._replace(worker, "memory")
            return self._synthetic(
                request,
                ExecutionStatus.LIMIT_EXCEEDED,
                "memory",
                "LimitExceeded",
                "out of memory",
                started,
            )
        logger.error("worker %d failed during a run: %s", worker.pid, outcome.detail)
        self._replace(worker, "crash")
        return self._synthetic(
            request,
            ExecutionStatus.ERROR,
            None,
            "WorkerError",
            "the script's worker process failed",
            started,
        )

    def _expected_cost(self, request: RunRequest) -> float:
        """What the script's last run took (`UNKNOWN_COST` for a new script or a traced
        run, which is never pipelined behind)."""
        if request.traced:
            return UNKNOWN_COST
        return self._costs.get(request.source, UNKNOWN_COST)

    def _cost_of(self, source: str, seconds: float) -> None:
        """What a script took on its last run (the pipelining estimate)."""
        if len(self._costs) >= MAX_COSTS and source not in self._costs:
            self._costs.clear()
        self._costs[source] = seconds

    def _timeout_message(self, request: RunRequest) -> str:
        """What a timed-out run says: its own deadline (a script's `limits` may lower it)."""
        return f"timeout of {self._timing_of(request).timeout * 1000:g} ms exceeded"

    @staticmethod
    def _synthetic(
        request: RunRequest,
        status: ExecutionStatus,
        limit: str | None,
        error_type: str,
        message: str,
        since: float,
    ) -> ExecutionResult:
        return ExecutionResult(
            status,
            {},
            [],
            dict(request.entity or {}),
            request.phase,
            error=ScriptError(error_type, message),
            limit=limit,
            duration_ms=(time.perf_counter() - since) * 1000,
        )

    def _host_handler(self, host_run: HostRun, *, debug: bool = False) -> Any:
        """Answers a run's host calls; a debug run's worker makes none (its helpers record
        intents), so one that asks is lying: a protocol error, never an effect."""
        budget = self.config.host_call_budget
        calls = 0

        async def handle(frame: dict[str, Any]) -> dict[str, Any]:
            nonlocal calls
            if debug:
                raise protocol.ProtocolError("a debug run makes no host call")
            calls += 1
            if calls > self.config.max_host_calls:
                raise protocol.ProtocolError("too many host calls in one run")
            name, arguments = frame.get("name"), frame.get("args")
            function = HOST_FUNCTIONS.get(name) if isinstance(name, str) else None
            if function is None or not isinstance(arguments, list):
                raise protocol.ProtocolError("a host call names no host function")
            if host_run.phase not in function.phases:
                raise protocol.ProtocolError(f"{function.name}() is not offered in this phase")
            left = budget - host_run.waited
            if left <= 0:
                metrics.host_calls(function.name, "budget").inc()
                return _refusal("host_time", f"host calls exceeded {budget:g} s in this run")
            began = time.perf_counter()
            try:
                async with asyncio.timeout(left):  # no task per call, as `wait_for` makes
                    value = await function.handle(host_run, arguments)
            except TimeoutError:
                metrics.host_calls(function.name, "budget").inc()
                return _refusal("host_time", f"host calls exceeded {budget:g} s in this run")
            except HostCallFailed as error:
                metrics.host_calls(function.name, "failed").inc()
                return error.reply()
            finally:
                host_run.waited += time.perf_counter() - began
            metrics.host_calls(function.name, "ok").inc()
            return {"t": "host_reply", "ok": True, "value": value}

        return handle


#: The expected time of a script not run yet: nothing is pipelined behind it.
UNKNOWN_COST = 3600.0
#: Scripts whose last run time the pool keeps (then it starts over).
MAX_COSTS = 4096
#: After a zygote could not start, how long workers are spawned before it is tried again.
ZYGOTE_RETRY_SECONDS = 60.0
#: Tries of a run whose worker was ended by a run ahead of it before it started.
MAX_UNSTARTED = 3


def _give_up(future: asyncio.Future[WorkerProcess]) -> None:
    """A waiting run's time is up (unless a worker reached it first)."""
    if not future.done():
        future.set_exception(QueueTimeout())


def _refusal(limit: str, message: str) -> dict[str, Any]:
    return {"t": "host_reply", "ok": False, "limit": limit, "error": message}


__all__ = [
    "PoolConfig",
    "QueueTimeout",
    "RunRequest",
    "WorkerPool",
    "available_cpus",
    "default_per_tenant",
]
