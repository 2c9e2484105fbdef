"""`alloy-scripting serve`: Kafka hooks, REST API, scheduler and housekeeping in one process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
from collections.abc import Awaitable, Callable, Iterator

import uvicorn

from alloy_scripting.settings import Settings, get_settings

logger = logging.getLogger("alloy.serve")


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("aiokafka", "kafka", "pymongo", "faststream", "alloy.kafka", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))


async def _every(seconds: float, job: Callable[[], Awaitable[object]], name: str) -> None:
    while True:
        await asyncio.sleep(seconds)
        try:
            await job()
        except Exception:
            logger.exception("periodic job %s failed", name)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: uvicorn re-raises SIGTERM once the HTTP side
    has stopped, which would kill the process before the Kafka edge commits its last batch."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def request_exit(self) -> None:
        if self.should_exit:
            self.force_exit = True
        self.should_exit = True


def freeze_startup_heap() -> None:
    """Move what start-up allocated (modules, models, clients: long-lived) out of the
    cyclic collector's reach, so that collections during hook traffic only walk young
    objects."""
    gc.collect()
    gc.freeze()


def bind_http(host: str, port: int) -> socket.socket:
    """A listening-ready socket on `host:port`, or exit with a clear message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        logger.error("cannot listen on %s:%d: %s", host, port, exc)
        raise SystemExit(f"alloy-scripting: cannot listen on {host}:{port}: {exc}") from None
    return sock


async def run_service(settings: Settings | None = None) -> None:
    from alloy_scripting.api.app import create_api
    from alloy_scripting.messaging.contract import asyncapi_document
    from alloy_scripting.messaging.wiring import wire_service
    from alloy_scripting.runner.scheduler import Scheduler
    from alloy_scripting.storage.mongo import MongoStores
    from alloy_scripting.tracing import configure_tracing

    settings = settings or get_settings()
    configure_logging(settings.log_level)
    # Take the HTTP port first: a second instance started on a busy port must stop before
    # it joins the consumer groups (and makes them rebalance).
    listener = bind_http(settings.http_host, settings.http_port)
    tracer_provider = configure_tracing()

    stores = MongoStores.from_settings(settings)
    await stores.ensure_indexes()
    logger.info(
        "connected to MongoDB at %s (database %s)", settings.mongodb_url, settings.mongodb_database
    )
    edge = wire_service(settings, stores)
    runtime = edge.runtime
    await runtime.state.ensure_indexes()
    await edge.start()
    logger.info(
        "connected to Kafka at %s (instance %s)", settings.kafka_bootstrap, runtime.instance_id
    )

    runtime.start_flusher(0.5)
    tasks = [asyncio.create_task(_every(3600, stores.purge_expired, "purge expired records"))]
    purge_state = _every(settings.state_purge_seconds, runtime.state.purge_expired, "purge state")
    tasks.append(asyncio.create_task(purge_state))

    scheduler = None
    if settings.scheduler_enabled:
        scheduler = Scheduler.for_runtime(runtime)
        await scheduler.start()

    api = create_api(runtime, asyncapi=asyncapi_document(settings))
    server = _Server(
        uvicorn.Config(
            api, host=settings.http_host, port=settings.http_port, log_config=None, lifespan="on"
        )
    )
    freeze_startup_heap()
    loop = asyncio.get_running_loop()
    draining: list[asyncio.Future[None]] = []

    def on_signal() -> None:
        # Stop taking hook requests at once (the group hands our partitions to the other
        # instances) while the HTTP server winds down.
        server.request_exit()
        if not draining:
            draining.append(asyncio.ensure_future(edge.stop_hooks()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal)
    logger.info(
        "alloy-scripting ready: Kafka %s, MongoDB %s, HTTP on %s:%d",
        settings.kafka_bootstrap,
        settings.mongodb_url,
        settings.http_host,
        settings.http_port,
    )
    logger.info(
        "try it from another shell: alloy-scripting demo (docs: http://127.0.0.1:%d/docs)",
        settings.http_port,
    )
    try:
        await server.serve(sockets=[listener])
    finally:
        logger.info("shutting down")
        if scheduler is not None:
            await scheduler.stop()
        await runtime.stop_flusher()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await edge.stop()  # finishes the batch in hand, commits it, writes the last records
        await stores.close()
        if tracer_provider is not None:
            tracer_provider.shutdown()
        logger.info("stopped")
