"""The service's handle on one worker process: start it, run scripts on it, kill it.

The worker is a fresh interpreter (`sys.executable -I -B`, never a fork of the service;
spawned, or forked by the pool's zygote, `forkserver`) with an environment of its own
(`PATH` and a locale: no `ALLOY_*` settings, no database or broker URLs, no keys), `/` as
its working directory, its own session (a signal to the service's process group does not
reach it) and only its three pipes. Its stderr is drained into the service log, a bounded
number of lines.

`execute` sends a `run` frame (behind the runs already sent: pipelining) and waits for the
run's `Outcome`. The worker's frames are handed to the runs as they are read (`_pump`, on
the `protocol.FrameReader` callback: no reader task, no coroutine per run serving the
channel in turn), so the results read together end their runs in the same turn of the
event loop. The running run has a timer at its deadline: the engine's own timeout plus
`kill_grace` (plus `compile_allowance` until the worker says it compiled a source it had
not seen); its clock starts when the run ahead of it is over, and stops while a host call
is answered. Whatever the worker does, a run has its `Outcome` by the deadline: past it,
the run is answered `timeout` at once and the worker is `overdue`; `settle` then gives it
a short while to come back on its own (the engine's in-band timeout usually ends the
script within milliseconds), and kills it if it does not. A worker that floods or breaks
the channel is caught even between runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alloy_scripting.runner.workers import protocol
from alloy_scripting.runner.workers.child import EXIT_MEMORY, MAX_QUEUED_RUNS

if TYPE_CHECKING:
    from alloy_scripting.runner.workers.forkserver import ForkServer

logger = logging.getLogger("alloy.workers")

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from alloy_scripting.runner.workers.child import main; main()"
)
WORKER_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
MAX_STDERR_CHUNKS = 50

HostHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ProcessHandle(Protocol):
    """A worker's process as the service handles it: spawned (`asyncio.subprocess`) or
    forked by the zygote (`forkserver.ForkedProcess`)."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def kill(self) -> None: ...
    async def wait(self) -> int: ...


class PipeWriter(Protocol):
    def write(self, data: bytes) -> None: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Outcome:
    """`kind` is `result` (with its `frame`), `timeout`, `memory` or `crash` (`detail`)."""

    kind: str
    frame: dict[str, Any] | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Timing:
    timeout: float
    kill_grace: float
    compile_allowance: float

    @property
    def wall_cap(self) -> float:
        """Longest a run may take on a starved machine before it is a timeout anyway."""
        return max(1.0, 10 * self.timeout)


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of process `pid` so far (Linux `/proc`), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


def _seconds(value: Any, default: float | None = None) -> float | None:
    if type(value) in (int, float) and 0 <= value < 1e9:
        return float(value)
    return default


#: Frames a worker may have sent that the service has not taken yet: a `started` and a
#: `result` for each run sent to it at once (at most `MAX_QUEUED_RUNS` behind the
#: running one); more is a flood, and a protocol error.
MAX_UNREAD_FRAMES = 2 * (MAX_QUEUED_RUNS + 1)


class WorkerProcess:
    def __init__(self, process: ProcessHandle, writer: PipeWriter) -> None:
        self.process = process
        self.pid = process.pid
        self.ready: dict[str, Any] = {}
        self.runs = 0
        self.known: set[str] = set()
        self.alive = True
        #: Replaced by a fresh worker (recycling): leaves the pool when its run ends.
        self.retired = False
        self._writer = writer
        self._outbox: list[bytes] = []
        """Run frames written at the end of this turn of the event loop, in one write: the
        runs a batch hands this worker together cost one system call and one wake-up."""
        self._frames: deque[dict[str, Any]] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._broken: str | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline_at: float | None = None
        """When the current run's clock runs out (loop time); None: no clock running."""
        #: The worker's CPU seconds when its current run began (its last report).
        self.cpu_total: float | None = None
        self._cpu_budget: float | None = None
        self._run_started = 0.0
        self._wall_cap = 0.0
        self._runs: deque[_Run] = deque()
        """The runs sent and not over, in the order the worker takes them: the first is
        running (or, `overdue`, still running after its `timeout` answer)."""
        self._host_call: asyncio.Task[None] | None = None
        """The running run's host call being answered (frames wait meanwhile)."""
        self._settling: asyncio.Future[bool] | None = None
        self._death_report: asyncio.Task[None] | None = None
        #: Runs the pool has given this worker and not taken back (`WorkerPool`), and the
        #: seconds they are expected to take.
        self.in_flight = 0
        self.backlog = 0.0
        self.tenants: dict[str, int] = {}
        """Runs in flight per tenant (a tenant holds the worker while it has one)."""
        self._reader = protocol.FrameReader(
            protocol.MAX_RESPONSE_FRAME, self._on_frame, self._on_close
        )
        self._log: asyncio.Task[None] | None = None
        """Drains its stderr into the service log."""

    @classmethod
    async def start(cls, init: dict[str, Any], start_timeout: float) -> WorkerProcess:
        output, child_output = os.pipe()  # read by a `FrameReader`, not a stream
        try:
            process = await spawn_clean(_BOOT, stdin=asyncio.subprocess.PIPE, stdout=child_output)
        except BaseException:
            os.close(output)
            raise
        finally:
            os.close(child_output)
        assert process.stdin is not None
        worker = cls(process, process.stdin)
        if process.stderr is not None:
            worker._log = asyncio.get_running_loop().create_task(
                drain_log(process.stderr, process.pid)
            )
        await worker._connect(output, protocol.encode({"t": "init", **init}), start_timeout)
        return worker

    @classmethod
    async def fork(cls, server: ForkServer, start_timeout: float) -> WorkerProcess:
        """A worker forked by the pool's zygote (`forkserver`): the same worker, warm and
        in milliseconds; its pipes are made here and handed to the child."""
        loop = asyncio.get_running_loop()
        run_input, requests = os.pipe()
        output, run_output = os.pipe()
        log, log_output = os.pipe()
        try:
            process = await server.fork([run_input, run_output, log_output], start_timeout)
        except BaseException:
            for fd in (requests, output, log):
                os.close(fd)
            raise
        finally:
            for fd in (run_input, run_output, log_output):
                os.close(fd)
        try:
            writer, _ = await loop.connect_write_pipe(asyncio.Protocol, io.FileIO(requests, "wb"))
            stderr = asyncio.StreamReader()
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(stderr), io.FileIO(log, "rb")
            )
        except BaseException:
            process.kill()
            raise
        worker = cls(process, writer)
        worker._log = loop.create_task(drain_log(stderr, process.pid))
        await worker._connect(output, None, start_timeout)
        return worker

    async def _connect(self, output: int, init: bytes | None, start_timeout: float) -> None:
        """Read the worker's output pipe, send `init` (a spawned worker's), and wait for
        its `ready`; a worker that does not say it is killed."""
        loop = asyncio.get_running_loop()
        pipe = io.FileIO(output, "rb")  # owned (and closed) by the transport once connected
        try:
            await loop.connect_read_pipe(lambda: self._reader, pipe)
            if init is not None:
                self._writer.write(init)
            ready = await asyncio.wait_for(self._next(), start_timeout)
            if ready.get("t") != "ready":
                raise protocol.ProtocolError("expected ready")
        except BaseException:
            self._reader.close("not started")
            pipe.close()
            self._writer.close()
            kill_process(self.process)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.process.wait(), 5)
            raise
        self.ready = ready
        self.cpu_total = _seconds(ready.get("cpu_total"))

    @property
    def overdue(self) -> bool:
        """Still running a script whose run was answered `timeout` (see `settle`)."""
        return bool(self._runs) and self._runs[0].overdue

    @property
    def healthy(self) -> bool:
        """Alive, its channel intact, nothing unasked-for pending: it may take a run."""
        return (
            self.alive
            and self._broken is None
            and not self._frames
            and self.process.returncode is None
        )

    # -- frames ----------------------------------------------------------------------------

    def _on_frame(self, frame: dict[str, Any]) -> None:
        """Every frame the worker sends, in order: to `_next` while it starts, then to
        its runs (`_pump`), as the bytes arrive; a flood ends the reading (and so the
        worker)."""
        if len(self._frames) >= MAX_UNREAD_FRAMES:
            self._reader.close("the worker sends frames nobody asked for")
            return
        self._frames.append(frame)
        if self.ready:  # started up: frames belong to runs now
            self._pump()
        else:
            self._wake(None)

    def _on_close(self, reason: str) -> None:
        """The channel broke (a protocol error, EOF, a pipe error) or was closed by us."""
        if self._broken is None:
            self._broken = reason or "the channel broke"
        self._wake(None)
        if self._runs and self.alive:
            self._fail(self._broken)

    def _wake(self, error: BaseException | None) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(error)

    async def _next(self) -> dict[str, Any]:
        while not self._frames:
            if self._broken is not None:
                raise protocol.ProtocolError(self._broken)
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._frames.popleft()

    # -- runs ------------------------------------------------------------------------------

    async def execute(
        self, frame: bytes, run_id: int, source: str, timing: Timing, host: HostHandler
    ) -> Outcome:
        """Run the encoded `run` frame; see the module docstring. The frame is written at
        once, also behind runs still in flight (pipelining: the worker takes it as soon as
        it is done with them, without waiting for the service); its clock starts when
        the runs ahead of it are over. `unstarted`: the worker died or was replaced while a
        run ahead of this one held it, so this one never ran (the pool runs it elsewhere).

        The worker's frames are handled as they arrive (`_pump`), not by a coroutine per
        run in turn: the results of a batch's runs pipelined onto a worker end their runs
        in the turn of the event loop that reads them, so their answers leave together."""
        if not self._runs and self._frames:  # sent between runs: nobody asked for it
            self.kill()
            return Outcome("crash", detail="the worker sent frames between runs")
        if not self.alive:
            return Outcome("unstarted")
        run = _Run(run_id, source, timing, host, asyncio.get_running_loop().create_future())
        self._runs.append(run)
        self.runs += 1
        self._post(frame)
        if len(self._runs) == 1:
            self._begin(run)
        try:
            return await asyncio.shield(run.outcome)
        except BaseException:
            if self._runs and self._runs[0] is run and not run.overdue:
                self.kill()  # cancelled mid-run: the worker's state is unknown
            else:
                # Cancelled while waiting behind another run: it runs when its turn comes,
                # nobody sees its result, and a host call from it ends the worker.
                run.host = None
            raise

    def _post(self, frame: bytes) -> None:
        if not self._outbox:
            asyncio.get_running_loop().call_soon(self._flush)
        self._outbox.append(frame)

    def _flush(self) -> None:
        frames, self._outbox = self._outbox, []
        if self.alive and frames:
            self._writer.write(frames[0] if len(frames) == 1 else b"".join(frames))

    @property
    def abandoning(self) -> bool:
        """A run whose caller went away is still to be taken off the channel."""
        return any(run.host is None for run in self._runs)

    def _begin(self, run: _Run, *, compiled: bool = False) -> None:
        """The run at the head of the channel starts: its clock (from now again, without
        the compile allowance, once the worker says it compiled: `compiled`)."""
        loop = asyncio.get_running_loop()
        timing = run.timing
        run.compiling = not compiled and run.source not in self.known
        allowance = timing.compile_allowance if run.compiling else 0.0
        self._run_started = loop.time()
        self._wall_cap = timing.wall_cap + allowance
        self._cpu_budget = timing.timeout + timing.kill_grace + allowance
        self._arm(loop, loop.time() + self._cpu_budget)

    def _pump(self) -> None:
        """Hand the frames received to the runs they belong to, in order: a `result` ends
        the running run and starts the next one's clock; a `host_call` is answered by a
        task (frames wait until it is); anything else breaks the protocol."""
        while self._frames and self._host_call is None and self.alive and self._runs:
            head = self._runs[0]
            message = self._frames.popleft()
            kind = message["t"]
            if head.overdue:  # answered `timeout`; `settle` waits for it to finish
                if kind == "result":
                    self._head_over()
                    if self._settling is not None and not self._settling.done():
                        self._settling.set_result(True)
                elif kind != "started":  # a host call now would get no answer
                    self._fail("a frame from a run answered timeout")
                continue
            if kind == "result":
                if message.get("id") != head.run_id:
                    self._fail("a result for another run")
                    return
                self.known.add(head.source)
                self.cpu_total = _seconds(message.get("cpu_total"), self.cpu_total)
                _settle(head.outcome, Outcome("result", message))
                self._head_over()
            elif kind == "started" and head.compiling:
                self.cpu_total = cpu_seconds(self.pid) or self.cpu_total
                self._begin(head, compiled=True)
            elif kind == "host_call" and head.host is not None:
                head.called = True
                loop = asyncio.get_running_loop()
                assert self._deadline_at is not None
                remaining = self._deadline_at - loop.time()
                self._disarm()
                self._host_call = loop.create_task(self._answer(head, message, remaining))
            elif kind == "host_call":
                self._fail("a host call from an abandoned run")
                return
            else:
                self._fail(f"unexpected frame {kind[:40]!r}")
                return

    def _head_over(self) -> None:
        """The running run is over: its clock stops, the next run's starts."""
        self._disarm()
        self._cpu_budget = None
        self._runs.popleft()
        if self._runs:
            self._begin(self._runs[0])

    async def _answer(self, head: _Run, message: dict[str, Any], remaining: float) -> None:
        """A host call of the running run: the service does the I/O, the worker waits, the
        run's clock is stopped meanwhile."""
        assert head.host is not None
        try:
            reply = await head.host(message)
        except BaseException as error:
            self._host_call = None
            if self.alive:
                if isinstance(error, protocol.ProtocolError):  # the worker asked wrongly
                    self._fail(str(error))
                else:
                    logger.exception("a host call of worker %d failed", self.pid)
                    self._fail(f"the host call failed: {type(error).__name__}")
            if not isinstance(error, Exception):
                raise
            return
        self._host_call = None
        if not self.alive or not self._runs or self._runs[0] is not head:
            return
        self._writer.write(protocol.encode(reply))
        loop = asyncio.get_running_loop()
        self._arm(loop, loop.time() + max(remaining, 0.0))
        self._pump()

    def _deadline_passed(self) -> None:
        """The running run's clock ran out: answered `timeout` now; the worker may still
        come back with its own result (`settle`). An overdue run's second deadline, or a
        run nobody waits for, ends the worker."""
        head = self._runs[0] if self._runs else None
        if head is None:
            return
        if head.overdue or head.host is None:
            self._fail("past its deadline")
            return
        self._cpu_budget = None
        head.overdue = True
        _settle(head.outcome, Outcome("timeout"))

    def _fail(self, detail: str) -> None:
        """The worker broke the protocol or its channel: it is killed; the running run
        ends with why (its exit status), the runs behind it as `kill` ends them."""
        head = self._runs.popleft() if self._runs else None
        self.kill()
        if head is not None and not head.overdue and not head.outcome.done():
            self._death_report = asyncio.get_running_loop().create_task(self._report(head, detail))

    async def _report(self, head: _Run, detail: str) -> None:
        _settle(head.outcome, await self._death(detail))

    async def settle(self, within: float) -> bool:
        """After a `timeout` answer: wait at most `within` seconds for the worker to finish
        the script (its late result is dropped). True if it did and can serve again; else
        it is killed."""
        if not self.overdue:
            return self.alive
        if not self.alive:
            return False
        loop = asyncio.get_running_loop()
        self._settling = loop.create_future()
        self._arm(loop, loop.time() + within)
        try:
            return await self._settling
        finally:
            self._settling = None

    async def _death(self, detail: str) -> Outcome:
        """Why the channel broke, from the exit status (the worker was just killed if it
        was still running, so this waits at most for the kernel)."""
        try:
            code = await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            return Outcome("crash", detail=detail)
        if code == EXIT_MEMORY:
            return Outcome("memory")
        if code == -getattr(signal, "SIGXCPU", 24):
            return Outcome("timeout")
        return Outcome("crash", detail=f"{detail} (exit status {code})")

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        """Start the clock: `_expire` at `when`. A timer already pending that fires no
        later is kept (it re-arms itself for what is left when it fires early): runs
        of a millisecond each would otherwise add and cancel a timer in the loop's heap
        per run."""
        self._deadline_at = when
        timer = self._timer
        if timer is not None:
            if timer.when() <= when:
                return
            timer.cancel()
        self._timer = loop.call_at(when, self._expire)

    def _disarm(self) -> None:
        """Stop the clock (a pending timer then does nothing when it fires)."""
        self._deadline_at = None

    def _cancel_timer(self) -> None:
        self._deadline_at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        """The deadline is wall-clock, for a script that is running. A worker that has
        hardly been on a CPU since the run began (under a fifth of its budget: the machine
        starved it, the script is not what is slow) gets more time, up to
        `Timing.wall_cap` in all, as a script in the service's own process would."""
        self._timer = None
        deadline = self._deadline_at
        if deadline is None:  # the clock was stopped after this timer was set
            return
        loop = asyncio.get_running_loop()
        if loop.time() < deadline:  # set for an earlier run: the clock now runs longer
            self._timer = loop.call_at(deadline, self._expire)
            return
        budget = self._cpu_budget
        if budget is not None:
            now = cpu_seconds(self.pid)
            if (
                now is not None
                and self.cpu_total is not None
                and now - self.cpu_total < budget / 5
                and loop.time() - self._run_started < self._wall_cap
            ):
                self._arm(loop, loop.time() + budget / 2)
                return
        self._deadline_at = None
        self._deadline_passed()

    def _end_runs(self, first: Outcome | None) -> None:
        """The worker is gone: the running run ends as `first` if given; a run that made
        a host call as an error (what it asked for may have happened: never run again);
        the others never started, and run elsewhere (`unstarted`: nothing of theirs left
        the worker, whose every effect is a host call)."""
        runs, self._runs = self._runs, deque()
        for index, run in enumerate(runs):
            if index == 0 and first is not None:
                outcome = first
            elif run.called:
                outcome = Outcome("crash", detail="its worker was stopped during the run")
            else:
                outcome = Outcome("unstarted")
            _settle(run.outcome, outcome)
        if self._settling is not None and not self._settling.done():
            self._settling.set_result(False)

    def kill(self) -> None:
        if self.alive:
            self.alive = False
            self._cancel_timer()
            self._end_runs(None)
            kill_process(self.process)
            self._reader.close("stopped")
            # Reap it: a killed worker must not linger as a zombie.
            asyncio.get_running_loop().create_task(_reap(self.process))

    async def stop(self) -> None:
        """Close its input (it exits at once when idle); kill it if it does not."""
        if not self.alive:
            return
        self._flush()
        self.alive = False
        self._cancel_timer()
        self._end_runs(Outcome("crash", detail="the worker was stopped"))
        with contextlib.suppress(Exception):
            self._writer.close()
        try:
            await asyncio.wait_for(self.process.wait(), 2)
        except TimeoutError:
            kill_process(self.process)
            await _reap(self.process)
        self._reader.close("stopped")


@dataclass(eq=False, slots=True)
class _Run:
    """A run sent to the worker and not over."""

    run_id: int
    source: str
    timing: Timing
    host: HostHandler | None
    """Answers its host calls; None once its caller went away (abandoned)."""
    outcome: asyncio.Future[Outcome]
    compiling: bool = False
    called: bool = False
    """It made a host call."""
    overdue: bool = False
    """Answered `timeout` and still running in the worker."""


def _settle(future: asyncio.Future[Outcome], outcome: Outcome) -> None:
    if not future.done():
        future.set_result(outcome)


async def spawn_clean(
    boot: str, *args: str, stdin: int, stdout: int, pass_fds: tuple[int, ...] = ()
) -> asyncio.subprocess.Process:
    """A fresh interpreter (`-I -B`, never a fork of the service) running `boot` with this
    package importable: an environment of its own (`WORKER_ENV`), `/` as its working
    directory, its own session, no descriptor but its stdio and `pass_fds`, its stderr a
    pipe (for `drain_log`). A spawned worker and the workers' zygote start so."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-I", "-B", "-c", boot, _PACKAGE_ROOT, *args,
        stdin=stdin,
        stdout=stdout,
        stderr=asyncio.subprocess.PIPE,
        env=WORKER_ENV,
        cwd="/",
        close_fds=True,
        pass_fds=pass_fds,
        start_new_session=True,
    )  # fmt: skip


def kill_process(process: ProcessHandle) -> None:
    if process.returncode is None:  # not reaped yet, so its pid is still its own
        with contextlib.suppress(ProcessLookupError):
            process.kill()


async def _reap(process: ProcessHandle) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), 10)


async def drain_log(stream: asyncio.StreamReader, pid: int) -> None:
    """A worker's stderr into the log: its first chunks, then discarded."""
    logged = 0
    with contextlib.suppress(Exception):
        while chunk := await stream.read(2048):
            if logged < MAX_STDERR_CHUNKS:
                logged += 1
                text = chunk.decode("utf-8", "replace").strip()
                logger.warning("worker %d: %s", pid, text[:2000])
