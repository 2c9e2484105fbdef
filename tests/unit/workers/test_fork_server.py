"""Workers forked by the zygote (`forkserver`): as clean and confined as spawned ones, started
in milliseconds, and a pool that outlives its zygote."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from alloy_scripting.model.enums import ExecutionPhase
from alloy_scripting.runner.workers import PoolConfig, RunRequest, WorkerPool
from alloy_scripting.runner.workers.forkserver import ForkFailed, ForkServer
from alloy_scripting.runner.workers.process import WORKER_ENV, WorkerProcess


async def noticed_dead(pool: WorkerPool, pid: int) -> None:
    """Until the pool has seen worker `pid` die (its channel broke)."""
    (worker,) = [w for w in pool._workers if w.pid == pid]
    for _ in range(250):
        if not worker.healthy:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"worker {pid} still looks alive")


def doubled(n: int) -> RunRequest:
    return RunRequest(
        "entity['x'] = entity['n'] * 2", ExecutionPhase.MANUAL, entity={"n": n}, tenant_id="t"
    )


def stat(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rsplit(")", 1)[1].split()


def parent_of(pid: int) -> int:
    return int(stat(pid)[1])


def session_of(pid: int) -> int:
    return int(stat(pid)[3])


def environment_of(pid: int) -> dict[str, str]:
    with open(f"/proc/{pid}/environ", "rb") as file:
        entries = [e.decode() for e in file.read().split(b"\0") if e]
    return dict(entry.split("=", 1) for entry in entries)


def descriptors_of(pid: int) -> dict[int, str]:
    base = f"/proc/{pid}/fd"
    return {int(fd): os.readlink(f"{base}/{fd}") for fd in os.listdir(base)}


async def test_workers_are_forked_by_a_clean_zygote_and_are_clean_themselves() -> None:
    os.environ["ALLOY_SECRET_FOR_THIS_TEST"] = "s3cret"
    try:
        async with WorkerPool(config=PoolConfig(size=2)) as pool:
            server = pool._fork_server
            assert server is not None and server.alive
            assert parent_of(server.pid) == os.getpid()
            assert environment_of(server.pid) == WORKER_ENV  # the zygote's too
            for pid in pool.pids():
                assert parent_of(pid) == server.pid  # forked by it, not by the service
                assert session_of(pid) == pid  # its own session
                assert environment_of(pid) == WORKER_ENV
                fds = descriptors_of(pid)
                # stdin /dev/null, stdout and stderr the log pipe, its two run pipes: no
                # socket (not the zygote's control socket), nothing else inherited.
                assert len(fds) == 5 and fds[0] == "/dev/null", fds
                assert all(target.startswith("pipe:") for fd, target in fds.items() if fd), fds
                assert fds[1] == fds[2]
            assert (await pool.run(doubled(21))).changes == {"x": 42}
            ready = next(iter(pool._workers)).ready
            assert ready["limits"]["RLIMIT_NPROC"] == 0 and ready["limits"]["RLIMIT_AS"] > 0
    finally:
        del os.environ["ALLOY_SECRET_FOR_THIS_TEST"]


async def test_a_forked_worker_starts_in_a_fraction_of_a_spawned_one() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        server = pool._fork_server
        assert server is not None
        started = time.perf_counter()
        forked = await WorkerProcess.fork(server, 10)
        forking = time.perf_counter() - started
        started = time.perf_counter()
        spawned = await WorkerProcess.start(pool._init(), 30)
        spawning = time.perf_counter() - started
        await asyncio.gather(forked.stop(), spawned.stop())
    assert forking < spawning / 3, (forking, spawning)


async def test_recycled_and_crashed_workers_come_from_the_zygote() -> None:
    async with WorkerPool(config=PoolConfig(size=1, recycle_after=3)) as pool:
        server = pool._fork_server
        assert server is not None
        first = pool.pids()
        for n in range(3):
            assert (await pool.run(doubled(n))).changes == {"x": 2 * n}
        for _ in range(100):
            if pool.pids() != first and pool.workers == 1:
                break
            await asyncio.sleep(0.02)
        (recycled,) = pool.pids()
        assert recycled not in first and parent_of(recycled) == server.pid
        os.kill(recycled, signal.SIGKILL)
        await noticed_dead(pool, recycled)
        result = await pool.run(doubled(5))
        assert result.changes == {"x": 10}
        (fresh,) = pool.pids()
        assert fresh != recycled and parent_of(fresh) == server.pid
        assert pool.restarts == {"recycle": 1, "crash": 1}


async def test_the_exit_status_comes_through_the_zygote() -> None:
    """A worker's exit code (here: out of memory outside a run's own handling, 3) reaches
    the service through the zygote, which reaped it."""
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        server = pool._fork_server
        assert server is not None
        worker = await WorkerProcess.fork(server, 10)
        try:
            os.kill(worker.pid, signal.SIGTERM)
            assert await asyncio.wait_for(worker.process.wait(), 5) == -signal.SIGTERM
            assert worker.process.returncode == -signal.SIGTERM
        finally:
            await worker.stop()


async def test_the_pool_outlives_its_zygote() -> None:
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        server = pool._fork_server
        assert server is not None
        (orphan,) = pool.pids()
        os.kill(server.pid, signal.SIGKILL)
        for _ in range(250):
            if not server.alive:
                break
            await asyncio.sleep(0.02)
        assert not server.alive
        with pytest.raises(ForkFailed):
            await server.fork([], 1)
        # Its worker serves on; killed now, its end is seen (its exit through its pidfd,
        # nobody being left to report it) and a worker of a new zygote takes its place.
        assert (await pool.run(doubled(1))).changes == {"x": 2}
        os.kill(orphan, signal.SIGKILL)
        await noticed_dead(pool, orphan)
        assert (await pool.run(doubled(2))).changes == {"x": 4}
        (replacement,) = pool.pids()
        fresh = pool._fork_server
        assert fresh is not None and fresh is not server and fresh.alive
        assert replacement != orphan and parent_of(replacement) == fresh.pid
        assert pool.restarts == {"crash": 1}


async def test_without_a_zygote_workers_are_spawned(monkeypatch: pytest.MonkeyPatch) -> None:
    async def refuse(*args: object, **kwargs: object) -> ForkServer:
        raise OSError("no SOCK_SEQPACKET here")

    monkeypatch.setattr(ForkServer, "start", refuse)
    async with WorkerPool(config=PoolConfig(size=1)) as pool:
        assert pool._fork_server is None
        (pid,) = pool.pids()
        assert parent_of(pid) == os.getpid()
        assert (await pool.run(doubled(4))).changes == {"x": 8}
