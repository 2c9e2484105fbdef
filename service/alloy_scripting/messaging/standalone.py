"""The FastStream application alone (`faststream run alloy_scripting.messaging:app`)."""

from __future__ import annotations

from faststream import FastStream

from alloy_scripting.messaging.edge import KafkaEdge
from alloy_scripting.runner.runtime import build_runtime
from alloy_scripting.settings import Settings, get_settings
from alloy_scripting.storage.mongo import MongoStores


def create_app(settings: Settings | None = None) -> FastStream:
    settings = settings or get_settings()
    edge = KafkaEdge(settings)
    app = edge.faststream_app()
    stores = MongoStores.from_settings(settings)

    @app.on_startup
    async def wire() -> None:
        await stores.ensure_indexes()
        edge.attach(build_runtime(settings, stores))
        await edge.ensure_topics()

    @app.after_shutdown
    async def close() -> None:
        await stores.close()

    return app
