"""GroupedWriter: submissions close together become one write; errors reach their waiters."""

from __future__ import annotations

import asyncio

import pytest

from alloy_scripting.messaging.grouped import GroupedWriter


async def test_submissions_during_a_write_go_out_together_and_in_order() -> None:
    writes: list[list[int]] = []
    gate = asyncio.Event()

    async def write(items: list[int]) -> None:
        writes.append(items)
        await gate.wait()

    writer = GroupedWriter(write)
    first = asyncio.create_task(writer.submit([1]))
    await asyncio.sleep(0.01)  # the first write is in flight
    others = [asyncio.create_task(writer.submit([i, i + 100])) for i in (2, 3, 4)]
    await asyncio.sleep(0.01)
    assert writes == [[1]] and not first.done()
    gate.set()
    await asyncio.gather(first, *others)
    assert writes == [[1], [2, 102, 3, 103, 4, 104]]


async def test_linger_collects_what_arrives_meanwhile() -> None:
    writes: list[list[str]] = []

    async def write(items: list[str]) -> None:
        writes.append(items)

    writer = GroupedWriter(write, linger=0.05)
    tasks = [asyncio.create_task(writer.submit([name])) for name in "abc"]
    await asyncio.sleep(0.01)
    tasks.append(asyncio.create_task(writer.submit(["d"])))
    await asyncio.gather(*tasks)
    assert writes == [["a", "b", "c", "d"]]


async def test_a_failed_write_fails_its_submitters_only() -> None:
    calls = 0

    async def write(items: list[int]) -> None:
        nonlocal calls
        calls += 1
        if 13 in items:
            raise RuntimeError("store down")

    writer = GroupedWriter(write)
    with pytest.raises(RuntimeError, match="store down"):
        await writer.submit([13])
    await writer.submit([14])  # the writer goes on
    assert calls == 2


async def test_a_cancelled_submitter_does_not_break_the_write() -> None:
    written: list[int] = []
    gate = asyncio.Event()

    async def write(items: list[int]) -> None:
        await gate.wait()
        written.extend(items)

    writer = GroupedWriter(write)
    doomed = asyncio.create_task(writer.submit([1]))
    kept = asyncio.create_task(writer.submit([2]))
    await asyncio.sleep(0.01)
    doomed.cancel()
    gate.set()
    await kept
    assert written == [1, 2]
