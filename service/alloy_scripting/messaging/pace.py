"""`HookPace`: which hooks lately took longer than a batch holds for its scripts.

A consumed batch waits up to `hold` seconds for its scripts before the next batch is
fetched, so that fast hooks finish in the batch that brought them. A hook that outlasts
the hold would make every batch it is in wait the whole hold — and every request that
arrives meanwhile with it (a quiet tenant behind a noisy one). Its next events are not
waited for: they run behind at once, as they would after the hold.
"""

from __future__ import annotations

from collections import OrderedDict

from alloy_scripting.model.events import EntityEvent

HookId = tuple[str, str, str]


class HookPace:
    def __init__(self, slow_after: float, *, size: int = 4096) -> None:
        self.slow_after = slow_after
        self.size = size
        self._slow: OrderedDict[HookId, bool] = OrderedDict()
        """Per hook (tenant, entity type, event), whether its last event was slow; bounded
        (least recently seen forgotten): an unknown hook is taken as fast."""

    def is_slow(self, event: EntityEvent) -> bool:
        return self._slow.get(_hook(event), False)

    def observe(self, event: EntityEvent, seconds: float) -> None:
        hook = _hook(event)
        self._slow[hook] = seconds > self.slow_after
        self._slow.move_to_end(hook)
        if len(self._slow) > self.size:
            self._slow.popitem(last=False)


def _hook(event: EntityEvent) -> HookId:
    return (event.tenant_id or "", event.entity_type, event.event.value)
