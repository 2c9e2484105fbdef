"""A process watchdog for one script run (used by `alloy-scripting script run`).

The engine's limits are enforced in-band (see `run.py`); a few C-level operations on
aliased nested structures can still outlast the timeout, and a bug could crash the
interpreter. `run_isolated` forks, runs the task in the child under an address-space and a
CPU-time limit, and waits at most `hard_timeout` seconds for its JSON answer; whatever
happens to the child, the caller gets either the answer or the reason it is missing
(`timeout`, `memory`, `crash`), so it can always report a result.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_EXIT_MEMORY = 3
_EXIT_FAILED = 4


@dataclass(frozen=True, slots=True)
class Isolated:
    payload: dict[str, Any] | None
    failure: str | None = None


def can_isolate() -> bool:
    return hasattr(os, "fork")


def run_isolated(
    task: Callable[[], dict[str, Any]], *, hard_timeout: float, memory_limit: int | None = 1 << 30
) -> Isolated:
    """Run `task` in a forked child; see the module docstring."""
    if not can_isolate():  # pragma: no cover - non-POSIX
        return Isolated(task())
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        _child(task, read_end, write_end, hard_timeout, memory_limit)
    os.close(write_end)
    chunks: list[bytes] = []
    deadline = time.monotonic() + hard_timeout
    timed_out = False
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([read_end], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
    if timed_out:
        _kill(pid)
        return Isolated(None, "timeout")
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0 and chunks:
        try:
            payload = json.loads(b"".join(chunks))
        except ValueError:
            return Isolated(None, "crash")
        if isinstance(payload, dict):
            return Isolated(payload)
        return Isolated(None, "crash")
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_MEMORY:
        return Isolated(None, "memory")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (
        signal.SIGKILL,
        getattr(signal, "SIGXCPU", -1),
    ):
        return Isolated(None, "timeout" if os.WTERMSIG(status) != signal.SIGKILL else "memory")
    return Isolated(None, "crash")


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)


def _child(  # pragma: no cover - runs in the child
    task: Callable[[], dict[str, Any]],
    read_end: int,
    write_end: int,
    hard_timeout: float,
    memory_limit: int | None,
) -> None:
    code = _EXIT_FAILED
    try:
        os.close(read_end)
        _limit(hard_timeout, memory_limit)
        data = json.dumps(task()).encode()
        view = memoryview(data)
        while view:
            written = os.write(write_end, view)
            view = view[written:]
        code = 0
    except MemoryError:
        code = _EXIT_MEMORY
    except BaseException:
        code = _EXIT_FAILED
    finally:
        os._exit(code)


def _limit(hard_timeout: float, memory_limit: int | None) -> None:  # pragma: no cover - child
    seconds = int(hard_timeout) + 2
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    if memory_limit is None:
        return
    try:
        with open("/proc/self/statm") as statm:
            current = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (current + memory_limit, current + memory_limit))
