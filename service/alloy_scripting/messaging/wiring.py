"""`wire_service`: the one place the service is put together, for `alloy-scripting serve`
and for the FastStream application (`faststream run alloy_scripting.messaging:app`).

Every part gets its collaborators when it is built: the orchestrator its effects sink and
script-change listener, the execution log its flush listener (all three are producers
of the Kafka edge), the runtime its readiness checks.
"""

from __future__ import annotations

from faststream import FastStream

from alloy_scripting.bridge.state import quotas_from
from alloy_scripting.engine import ScriptEngine
from alloy_scripting.messaging.contract import kafka_broker
from alloy_scripting.messaging.edge import KafkaEdge
from alloy_scripting.messaging.producers import Producers
from alloy_scripting.messaging.topics import Topics, ensure_topics
from alloy_scripting.runner.service import build_runtime, new_instance_id
from alloy_scripting.settings import Settings, get_settings
from alloy_scripting.storage.mongo import MongoStores
from alloy_scripting.storage.mongo.state import MongoStateStore


def wire_service(
    settings: Settings,
    stores: MongoStores,
    *,
    engine: ScriptEngine | None = None,
    reply_topic_idle: float = 10.0,
) -> KafkaEdge:
    """The service over `stores`: its `Runtime` (as `edge.runtime`) and its Kafka edge."""
    instance_id = new_instance_id()
    producers = Producers(
        settings, Topics(settings.topic_prefix), reply_topic_idle=reply_topic_idle
    )
    broker = kafka_broker(settings)

    async def broadcast_change(tenant_id: str | None) -> None:
        await producers.broadcast_change(tenant_id, origin=instance_id)

    async def kafka_ready() -> bool:
        return await broker.ping(timeout=2.0)

    runtime = build_runtime(
        settings,
        stores,
        engine,
        instance_id=instance_id,
        effects_sink=producers.publish_effects,
        change_listeners=[broadcast_change],
        record_listeners=[producers.publish_executions],
        health_checks={"kafka": kafka_ready, "mongodb": stores.ping},
        state=MongoStateStore(stores.db, quotas_from(settings)),
    )
    return KafkaEdge(runtime, producers, broker)


def faststream_app(settings: Settings | None = None) -> FastStream:
    """The Kafka hooks alone, as a FastStream application (no REST API, no scheduler)."""
    settings = settings or get_settings()
    stores = MongoStores.from_settings(settings)
    edge = wire_service(settings, stores)
    app = edge.faststream_app()

    @app.on_startup
    async def prepare() -> None:
        await stores.ensure_indexes()
        await edge.runtime.state.ensure_indexes()
        await ensure_topics(settings, edge.topics)
        edge.runtime.start_flusher()

    @app.on_shutdown
    async def stop_flusher() -> None:
        # The edge writes what is left once its consumers are drained.
        await edge.runtime.stop_flusher()

    @app.after_shutdown
    async def close() -> None:
        await stores.close()

    return app
