"""The hook processor starts a shadow run only once the answer is with Kafka, and the
answer is the active version's (recording producer, in-memory stores, inline runs)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from alloy_scripting.model.script import utc_now
from alloy_scripting.model.shadow import Shadow
from alloy_scripting.runner.shadow import ShadowRunner
from tests.unit.messaging.test_hook_processor import SEED, Producer, Sent, Service

CANDIDATE = SEED.replace("100000", "1000")


class HeldReplies(Producer):
    """Replies are taken but not acknowledged until `release()`."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[asyncio.Future[Any]] = []

    async def enqueue(
        self, topic: str, value: bytes, *, key: bytes | None = None, headers: dict[str, str]
    ) -> asyncio.Future[Any]:
        if topic != "replies":
            return await super().enqueue(topic, value, key=key, headers=headers)
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.held.append(delivery)
        self.sent.append(Sent(topic, value, key, dict(headers)))
        return delivery

    def release(self) -> None:
        for delivery in self.held:
            if not delivery.done():
                delivery.set_result(None)


async def test_the_shadow_runs_after_the_reply_is_acknowledged() -> None:
    service = Service()
    producer = HeldReplies()
    service.producer = producer
    service.processor = service.new_processor()
    runner = ShadowRunner(service.stores.shadows, service.orchestrator.engine, instance_id="i1")
    service.orchestrator.shadows = runner
    script = await service.add("validate_deal", SEED, "before_create")
    shadow = Shadow(
        script_id=script.id, source=CANDIDATE, sample=1.0, until=utc_now() + timedelta(hours=1)
    )
    await service.stores.shadows.put(shadow)

    finish = await service.processor.handle_batch(
        [service.record("before_create", 5000, event_id="e1")]
    )
    [reply] = producer.on("replies")
    assert json.loads(reply.value)["changes"] == {}  # the active version's answer
    await asyncio.sleep(0.05)
    assert runner.tally(shadow.id).runs == 0  # the reply is not acknowledged yet
    producer.release()
    await finish()
    await runner.wait_idle()
    tally = runner.tally(shadow.id)
    assert (tally.runs, tally.different) == (1, 1)
    assert tally.examples[0]["candidate"] == {"changes": {"status": "needs_approval"}}
    records = await service.stores.executions.find_by_script(script.id, 0, 10)
    assert records.total == 1  # the active run's record only
