"""The FastStream application alone (`faststream run alloy_scripting.messaging:app`)."""

from __future__ import annotations

import asyncio

from faststream import FastStream

from alloy_scripting.messaging.edge import KafkaEdge
from alloy_scripting.runner.buffered_log import BufferedExecutionLog
from alloy_scripting.runner.runtime import build_runtime
from alloy_scripting.settings import Settings, get_settings
from alloy_scripting.storage.mongo import MongoStores


def create_app(settings: Settings | None = None) -> FastStream:
    settings = settings or get_settings()
    edge = KafkaEdge(settings)
    app = edge.faststream_app()
    stores = MongoStores.from_settings(settings)

    flusher: list[asyncio.Task[None]] = []

    @app.on_startup
    async def wire() -> None:
        await stores.ensure_indexes()
        runtime = build_runtime(settings, stores)
        edge.attach(runtime)
        await edge.ensure_topics()
        log = runtime.orchestrator.execution_log
        if isinstance(log, BufferedExecutionLog):
            flusher.append(asyncio.create_task(log.run_flusher()))

    @app.on_shutdown
    async def stop_flusher() -> None:
        for task in flusher:  # the edge writes what is left once its consumers are drained
            task.cancel()

    @app.after_shutdown
    async def close() -> None:
        await stores.close()

    return app
