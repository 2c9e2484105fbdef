"""`GroupedWriter`: many small writes submitted close together become one write.

Used for what every consumed batch must make durable before its offsets are committed
(processed-event marks) and for the offset commits themselves: under request/reply
traffic a batch is often a single record, and one database insert plus one Kafka commit
per record would cost more than the hook. Items submitted while a write lingers or is in
flight go out together in the next write; each `submit` returns once its own items are
written, or raises the write's error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


class GroupedWriter(Generic[T]):
    def __init__(self, write: Callable[[list[T]], Awaitable[None]], *, linger: float = 0.0):
        self._write = write
        self._linger = linger
        self._items: list[T] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None

    async def submit(self, items: Iterable[T]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._items.extend(items)
        self._waiters.append(future)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run())
        await future

    async def _run(self) -> None:
        while self._waiters:
            if self._linger:
                await asyncio.sleep(self._linger)
            items, waiters = self._items, self._waiters
            self._items, self._waiters = [], []
            try:
                await self._write(items)
            except Exception as exc:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(exc)
            else:
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)
