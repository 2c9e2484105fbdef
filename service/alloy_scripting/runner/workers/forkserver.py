"""`ForkServer`: the service's handle on the zygote, which forks worker processes.

A spawned worker pays for a fresh interpreter, its imports and the engine's warm-up (~350 ms
of CPU on a 2-vCPU VM) every time one is recycled, times out or dies; under load with the
default recycling that was a sixth of a core. The zygote (`zygote.py`) pays it once and
forks: a worker starts in milliseconds, already warm, from an interpreter that never ran a
user's script and was never the service (no fork of the loaded service: the zygote is
started from a clean interpreter with a scrubbed environment, exactly as a worker was).

Each child gets the three pipe ends the service made for it (`SCM_RIGHTS`), its own
session, and confines itself before its first run. The service signals a child through a
pidfd the zygote opened before it could reap it (never by a pid that could be reused), and
learns its exit status from the zygote. If the zygote dies, its children serve on (their
pipes are the service's); their exits are then seen through the pidfd, with an unknown
status, and the pool starts another zygote for the next workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
from collections import deque
from typing import Any

from alloy_scripting.runner.workers.process import drain_log, kill_process, spawn_clean
from alloy_scripting.runner.workers.zygote import MAX_MESSAGE

logger = logging.getLogger("alloy.workers")

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from alloy_scripting.runner.workers.zygote import main; main()"
)
#: The exit status of a child whose zygote died before it (nobody could reap it for us).
UNKNOWN_EXIT = 255


class ForkFailed(Exception):
    """The zygote could not fork a worker, or is gone."""


class ForkedProcess:
    """A worker forked by the zygote, as the pool handles a process: `pid`, `returncode`,
    `kill()`, `wait()`."""

    def __init__(self, pid: int, pidfd: int, exited: asyncio.Future[int]) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.exited = exited
        exited.add_done_callback(self._closed)

    @property
    def returncode(self) -> int | None:
        return self.exited.result() if self.exited.done() else None

    def kill(self) -> None:
        if self.pidfd >= 0 and not self.exited.done():
            with contextlib.suppress(OSError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)

    async def wait(self) -> int:
        return await asyncio.shield(self.exited)

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Its zygote is gone: its end is seen through the pidfd (readable once it exits)."""
        if self.pidfd < 0 or self.exited.done():
            return

        def ended() -> None:
            if not self.exited.done():
                self.exited.set_result(UNKNOWN_EXIT)

        loop.add_reader(self.pidfd, ended)

    def _closed(self, _: asyncio.Future[int]) -> None:
        pidfd, self.pidfd = self.pidfd, -1
        if pidfd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(pidfd)
            os.close(pidfd)


class ForkServer:
    def __init__(self, process: asyncio.subprocess.Process, control: socket.socket) -> None:
        self.process = process
        self.pid = process.pid
        self._control = control
        self._loop = asyncio.get_running_loop()
        self._ready: asyncio.Future[dict[str, Any]] = self._loop.create_future()
        self._forks: deque[asyncio.Future[ForkedProcess]] = deque()
        """The callers of `fork`, in the order the zygote answers them."""
        self._children: dict[int, ForkedProcess] = {}
        self._log: asyncio.Task[None] | None = None
        """Drains its stderr into the service log."""
        self.alive = True

    @classmethod
    async def start(cls, init: dict[str, Any], start_timeout: float) -> ForkServer:
        """Start the zygote (a clean interpreter: `spawn_clean`) with the pool's `init`;
        returns once it is warm."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = await spawn_clean(
                _BOOT,
                str(theirs.fileno()),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        server = cls(process, ours)
        if process.stderr is not None:
            server._log = server._loop.create_task(drain_log(process.stderr, process.pid))
        server._loop.add_reader(ours, server._readable)
        try:
            server._send({"t": "init", **init})
            await asyncio.wait_for(asyncio.shield(server._ready), start_timeout)
        except BaseException:
            await server.stop()
            raise
        return server

    def _send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        try:
            if fds:
                socket.send_fds(self._control, [data], fds)
            else:
                self._control.send(data)
        except OSError as error:  # a full socket is not expected: forks are answered in turn
            self._lost(f"cannot write to the zygote: {error}")
            raise ForkFailed(f"the zygote is gone: {error}") from None

    async def fork(self, fds: list[int], timeout: float) -> ForkedProcess:
        """A new child with these descriptors as its input, output and stderr (the caller
        closes its copies)."""
        if not self.alive:
            raise ForkFailed("the zygote is gone")
        answer: asyncio.Future[ForkedProcess] = self._loop.create_future()
        self._forks.append(answer)
        self._send({"t": "fork"}, fds)
        try:
            return await asyncio.wait_for(asyncio.shield(answer), timeout)
        except BaseException:
            if answer.done() and not answer.cancelled() and answer.exception() is None:
                answer.result().kill()  # forked after all: nobody will use it
            else:
                answer.cancel()  # `_readable` kills it if it comes
            raise

    def _readable(self) -> None:
        while self.alive:
            try:
                data, fds, _, _ = socket.recv_fds(self._control, MAX_MESSAGE, 1)
            except BlockingIOError:
                return
            except OSError as error:
                self._lost(f"the zygote's socket failed: {error}")
                return
            if not data:
                for fd in fds:
                    os.close(fd)
                self._lost("the zygote exited")
                return
            try:
                message = json.loads(data)
                self._on_message(message, fds)
            except (ValueError, TypeError, KeyError, IndexError) as error:
                for fd in fds:
                    os.close(fd)
                self._lost(f"the zygote broke the protocol: {error!r}")
                return

    def _on_message(self, message: dict[str, Any], fds: list[int]) -> None:
        kind = message["t"]
        if kind == "forked" and len(fds) == 1 and self._forks:
            pid = message["pid"]
            if type(pid) is not int:
                raise TypeError("pid")
            child = ForkedProcess(pid, fds[0], self._loop.create_future())
            self._children[pid] = child
            child.exited.add_done_callback(lambda _: self._children.pop(pid, None))
            answer = self._forks.popleft()
            if answer.done():  # its caller gave up
                child.kill()
            else:
                answer.set_result(child)
        elif kind == "exit" and not fds:
            ended = self._children.get(message["pid"])
            status = message["status"]
            if ended is not None and not ended.exited.done() and type(status) is int:
                ended.exited.set_result(status)
        elif kind == "error" and not fds and self._forks:
            answer = self._forks.popleft()
            if not answer.done():
                answer.set_exception(ForkFailed(str(message.get("error"))[:300]))
        elif kind == "ready" and not fds and not self._ready.done():
            self._ready.set_result(message)
        else:
            raise ValueError(f"unexpected message {str(kind)[:40]!r}")

    def _lost(self, reason: str, *, stopping: bool = False) -> None:
        if not self.alive:
            return
        self.alive = False
        if not stopping:
            logger.warning("the workers' zygote (pid %d) is gone: %s", self.pid, reason)
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._control)
        self._control.close()
        error = ForkFailed(f"the zygote is gone: {reason}")
        if not self._ready.done():
            self._ready.set_exception(error)
        while self._forks:
            answer = self._forks.popleft()
            if not answer.done():
                answer.set_exception(error)
        for child in list(self._children.values()):
            child.watch(self._loop)
        kill_process(self.process)

    async def stop(self) -> None:
        """Close the zygote (its children are the pool's to stop)."""
        self._lost("stopped", stopping=True)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.process.wait(), 5)
