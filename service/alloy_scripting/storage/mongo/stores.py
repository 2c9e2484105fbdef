"""`MongoStores`: the four MongoDB stores over one database handle."""

from __future__ import annotations

from datetime import datetime

from pymongo import AsyncMongoClient

from alloy_scripting.settings import Settings
from alloy_scripting.storage.mongo.common import (
    Database,
    Document,
    client_for,
)
from alloy_scripting.storage.mongo.egress import MongoEgressStore
from alloy_scripting.storage.mongo.executions import MongoExecutionLog
from alloy_scripting.storage.mongo.processed import MongoProcessedEvents
from alloy_scripting.storage.mongo.scripts import MongoStorage
from alloy_scripting.storage.mongo.shadows import MongoShadowStore
from alloy_scripting.storage.mongo.templates import MongoTemplateStore
from alloy_scripting.storage.mongo.ticks import MongoTickLedger
from alloy_scripting.storage.protocols import (
    DEFAULT_TICK_RETENTION_DAYS,
)


class MongoStores:
    """The four MongoDB stores over one database handle (`Stores`)."""

    def __init__(
        self,
        db: Database,
        *,
        failure_threshold: int = 3,
        retention_days: int = 30,
        tick_retention_days: int = DEFAULT_TICK_RETENTION_DAYS,
        _client: AsyncMongoClient[Document] | None = None,
    ) -> None:
        self._client = _client
        self._scripts = MongoStorage(db, failure_threshold=failure_threshold)
        self._executions = MongoExecutionLog(db, retention_days=retention_days)
        self._processed = MongoProcessedEvents(db)
        self._ticks = MongoTickLedger(db, retention_days=tick_retention_days)
        self._egress = MongoEgressStore(db)
        self._shadows = MongoShadowStore(db)
        self._templates = MongoTemplateStore(db)
        self.db = db

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> MongoStores:
        """Stores owning their client (``await stores.close()``)."""
        settings = settings or Settings()
        client = client_for(settings)
        return cls(
            client[settings.mongodb_database],
            failure_threshold=settings.failure_threshold,
            retention_days=settings.execution_retention_days,
            _client=client,
        )

    @property
    def scripts(self) -> MongoStorage:
        return self._scripts

    @property
    def executions(self) -> MongoExecutionLog:
        return self._executions

    @property
    def processed(self) -> MongoProcessedEvents:
        return self._processed

    @property
    def ticks(self) -> MongoTickLedger:
        return self._ticks

    @property
    def egress(self) -> MongoEgressStore:
        return self._egress

    @property
    def shadows(self) -> MongoShadowStore:
        return self._shadows

    @property
    def templates(self) -> MongoTemplateStore:
        return self._templates

    async def ensure_indexes(self) -> None:
        await self._scripts.ensure_indexes()
        await self._executions.ensure_indexes()
        await self._processed.ensure_indexes()
        await self._ticks.ensure_indexes()
        await self._shadows.ensure_indexes()
        await self._templates.ensure_indexes()

    async def purge_expired(self, now: datetime | None = None) -> dict[str, int]:
        return {
            "executions": await self._executions.purge_expired(now),
            "processed": await self._processed.purge_expired(now),
            "ticks": await self._ticks.purge_expired(now),
        }

    async def ping(self) -> bool:
        """True when the server answers (for readiness checks)."""
        try:
            await self.db.command("ping")
        except Exception:  # any failure means not ready
            return False
        return True

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
