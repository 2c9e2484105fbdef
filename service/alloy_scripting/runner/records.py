"""Where execution records go: `ExecutionRecords` makes them durable, `Recording` collects a
hook's records for its caller.

A record is durable once it is stored in the execution log and every listener took it
(the Kafka edge publishes it to `alloy.executions` and waits for the acknowledgement).
Manual, API and scheduled runs write their record before the run counts as done; a hook's
records ride with the consumed batch and are written by its finish step, before the
processed-event marks and the offset commit (`messaging.processor`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from alloy_scripting.model.enums import ExecutionPhase, ExecutionStatus
from alloy_scripting.model.events import EntityEvent
from alloy_scripting.model.execution import ExecutionRecord, derive_record_id
from alloy_scripting.model.outcomes import Continue, Error, Rejected
from alloy_scripting.storage.protocols import ExecutionLog

if TYPE_CHECKING:
    from alloy_scripting.runner.shadow import ShadowJob

RecordListener = Callable[[list[ExecutionRecord]], Awaitable[None]]


class ExecutionRecords:
    """`write(records)` returns once the records are stored and every listener took them;
    any failure raises (a record id already stored is not one: writes are idempotent)."""

    def __init__(self, log: ExecutionLog, listeners: Iterable[RecordListener] = ()) -> None:
        self.log = log
        self.listeners: list[RecordListener] = list(listeners)

    async def write(self, records: list[ExecutionRecord]) -> None:
        if not records:
            return
        results = await asyncio.gather(
            self.log.append_many(records),
            *(listener(records) for listener in self.listeners),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result


@dataclass
class Recording:
    """The records of one hook request's runs, kept for the caller to make durable.

    Their ids derive from the request's dedup key and the script id (`derive_record_id`):
    a redelivery that runs the request again produces the same ids."""

    request_key: str
    records: list[ExecutionRecord] = field(default_factory=list)
    shadow_jobs: list[ShadowJob] = field(default_factory=list)
    """Sampled shadow runs (`runner.shadow`), for the caller to launch once it answered."""

    def record_id(self, script_id: str) -> str:
        return derive_record_id(self.request_key, script_id)


def recovered_records(
    outcome: Continue | Rejected | Error,
    event: EntityEvent,
    request_key: str,
    *,
    correlation_id: str | None,
) -> list[ExecutionRecord]:
    """The records of a before-request's runs, rebuilt from the answer a processed-event
    mark kept (`executed`: script, version, status, duration; the reason or error of the
    script that decided), flagged `recovered`: for a mark written by an earlier version,
    which wrote records behind and may have lost them. Ids as the runs' own would be."""
    records = []
    for ran in outcome.executed:
        decided = getattr(outcome, "script", None) == ran.name
        reason = outcome.reason if isinstance(outcome, Rejected) and decided else None
        error: dict[str, str] | None = None
        if isinstance(outcome, Error) and decided and ran.status is not ExecutionStatus.SUCCESS:
            error = {"type": outcome.error_type, "message": outcome.error}
        records.append(
            ExecutionRecord.of_run(
                id=derive_record_id(request_key, ran.script_id),
                script_id=ran.script_id,
                script_version=max(ran.version, 1),
                script_name=ran.name,
                tenant_id=event.tenant_id,
                user_id=event.user_id,
                phase=ExecutionPhase.BEFORE,
                event=event.event,
                entity_type=event.entity_type,
                entity_id=event.entity_id,
                correlation_id=correlation_id,
                status=ran.status,
                duration_ms=max(ran.duration_ms, 0.0),
                error=error,
                reason=reason,
                recovered=True,
            )
        )
    return records
