"""The zygote: a clean interpreter, warmed once, that forks the workers (runs in that process).

Started by `forkserver.ForkServer` as a worker is (`python -I -B`, scrubbed environment,
`/`, its own session, no inherited descriptor but its control socket, whose number is its
last argument). It reads its `init` (the pool's engine limits, OS limits and nice), builds
and warms the engine as a worker does (`child.load`), says `ready`, and then only forks:
it never runs a user's script, holds nothing but what every worker holds, and is not
confined (it must fork) — each child confines itself before its first run.

Control messages (one JSON object per `SOCK_SEQPACKET` message):
service -> zygote: `init` once, then `fork` with the child's three descriptors attached
(`SCM_RIGHTS`: the read end of its input pipe, the write ends of its output and stderr
pipes); zygote -> service: `ready`, `forked` with the child's pid and a pidfd for it
attached (or `error`), and `exit` with a child's pid and exit status once reaped.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
from typing import Any, NoReturn

from alloy_scripting.runner.workers.child import EXIT_FAILED, Channel, exit_code, load, serve_runs

#: Descriptors a `fork` message carries: the child's input, output and stderr.
FORK_FDS = 3
MAX_MESSAGE = 1 << 16


class Zygote:
    def __init__(self, control: socket.socket) -> None:
        self.control = control
        self.channel = Channel()
        """The channel the engine's host calls use: its descriptors are set in each child."""
        self.init: dict[str, Any] = {}
        self.engine: Any = None
        self.wake_read, self.wake_write = os.pipe()
        os.set_blocking(self.wake_read, False)
        os.set_blocking(self.wake_write, False)

    def send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self.control, [data], fds)
        else:
            self.control.sendall(data)

    def receive(self) -> tuple[dict[str, Any] | None, list[int]]:
        """The next message and its descriptors; None when the service closed the socket."""
        data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, FORK_FDS)
        if not data:
            return None, fds
        try:
            message = json.loads(data)
        except ValueError:
            message = {}
        return (message if isinstance(message, dict) else {}), fds

    def start(self) -> None:
        init, fds = self.receive()
        for fd in fds:
            os.close(fd)
        if init is None or init.get("t") != "init":
            os._exit(EXIT_FAILED)
        self.init = init
        self.engine = load(init, self.channel)
        gc.collect()
        gc.freeze()  # what every child shares stays shared (no collector writes to it)
        # Children are reaped in the loop, woken through this pipe: a signal handler that
        # reaped could run before a child's pidfd was sent, and its pid be reused.
        signal.set_wakeup_fd(self.wake_write)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.send({"t": "ready", "pid": os.getpid()})

    def serve(self) -> NoReturn:
        while True:
            control = self.control.fileno()
            readable, _, _ = select.select([control, self.wake_read], [], [])
            if self.wake_read in readable:
                try:
                    while os.read(self.wake_read, 512):
                        pass
                except BlockingIOError:
                    pass
                self.reap()
            if control in readable:
                message, fds = self.receive()
                if message is None:
                    os._exit(0)  # the service is gone (or closed the pool)
                if message.get("t") == "fork" and len(fds) == FORK_FDS:
                    self.fork(fds)
                else:
                    for fd in fds:
                        os.close(fd)
                    self.send({"t": "error", "error": "expected a fork with three descriptors"})

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.send({"t": "exit", "pid": pid, "status": os.waitstatus_to_exitcode(status)})

    def fork(self, fds: list[int]) -> None:
        try:
            pid = os.fork()
        except OSError as error:
            for fd in fds:
                os.close(fd)
            self.send({"t": "error", "error": f"fork failed: {error}"})
            return
        if pid == 0:
            self.become_worker(fds)
        for fd in fds:
            os.close(fd)
        try:
            pidfd = os.pidfd_open(pid)  # before any reaping: it is this child's, whatever happens
        except OSError as error:
            os.kill(pid, signal.SIGKILL)
            self.send({"t": "error", "error": f"pidfd_open failed: {error}"})
            return
        try:
            self.send({"t": "forked", "pid": pid}, [pidfd])
        finally:
            os.close(pidfd)

    def become_worker(self, fds: list[int]) -> NoReturn:
        """In the child: its own session and descriptors, then a worker's life."""
        code = EXIT_FAILED
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.setsid()
            run_input, run_output, errors = fds
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(errors, 2)
            os.dup2(errors, 1)  # stray output goes to the log pipe, never into a frame
            keep = {0, 1, 2, run_input, run_output}
            for fd in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
                number = int(fd)
                if number not in keep:
                    with contextlib.suppress(OSError):
                        os.close(number)
            self.control.detach()  # closed above; the object must not close a reused number
            self.channel.read_fd, self.channel.write_fd = run_input, run_output
            serve_runs(self.engine, self.channel, self.init)
        except BaseException as error:
            code = exit_code(error)
        os._exit(code)


def main() -> None:
    control = socket.socket(fileno=int(sys.argv[-1]))
    zygote = Zygote(control)
    try:
        zygote.start()
        zygote.serve()
    except BaseException as error:
        os._exit(exit_code(error))


if __name__ == "__main__":
    main()
