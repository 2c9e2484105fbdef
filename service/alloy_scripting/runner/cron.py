"""Pure cron arithmetic for the scheduler: the ticks of a `CronTrigger` as UTC instants.

Ticks are computed by croniter (>= 7) in the trigger's zone, starting from a timezone-aware
local datetime, and returned as UTC instants. Two rules for daylight-saving transitions:

* **Skipped local time** (spring forward): croniter moves a tick that falls in the gap to the
  first instant after it. ``30 2 * * *`` in Europe/Berlin on 2025-03-30 (02:00 → 03:00)
  fires once, at 03:00 CEST (01:00 UTC); ``*/15 2 * * *`` fires once at 03:00 as well, not
  four times. We keep that behaviour.
* **Repeated local time** (fall back): croniter yields every real instant, so a wall-clock
  time inside the repeated hour comes twice. An expression whose *hour* field is a wildcard
  (``*/15 * * * *``, ``0 * * * *``, ``* * * * * *``) keeps both passes — they are distinct
  real instants. An expression with specific hours (``30 2 * * *``, ``0 */2 * * *``) fires
  only on the first pass: the second pass of the repeated hour is dropped, so a daily job
  runs once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from croniter import CroniterBadDateError, croniter

from alloy_scripting.model.script import CronTrigger

#: Hour field index in croniter's ``expanded`` (the same for 5, 6 and 7 fields).
_HOUR = 1


@lru_cache(maxsize=1024)
def repeats_in_fold(expression: str) -> bool:
    """True when the hour field is a wildcard: ticks in a repeated local hour fire twice."""
    hours = croniter(expression).expanded[_HOUR]
    return bool(hours == ["*"] or len(hours) >= 24)


def _second_pass(local: datetime) -> bool:
    """True when ``local`` is the later of two instants with the same wall-clock time."""
    if local.fold != 1:
        return False
    return local.replace(fold=0).utcoffset() != local.utcoffset()


def iter_ticks(trigger: CronTrigger, after: datetime) -> Iterator[datetime]:
    """The trigger's ticks strictly after ``after``, as increasing UTC instants.

    Endless, except for an expression that never matches (``0 0 31 2 *``): no ticks."""
    zone = trigger.zone
    both_passes = repeats_in_fold(trigger.expression)
    it = croniter(trigger.expression, after.astimezone(zone))
    last = after.astimezone(UTC)
    while True:
        try:
            local: datetime = it.get_next(datetime)
        except CroniterBadDateError:
            return
        instant = local.astimezone(UTC)
        if instant <= last:  # defensive: never yield a tick twice or go backwards
            continue
        last = instant
        if not both_passes and _second_pass(instant.astimezone(zone)):
            continue
        yield instant


def ticks_between(
    trigger: CronTrigger, after: datetime, until: datetime, *, limit: int = 100_000
) -> list[datetime]:
    """The ticks ``t`` with ``after < t <= until`` (UTC), at most ``limit`` of them."""
    found: list[datetime] = []
    if until <= after:
        return found
    for instant in iter_ticks(trigger, after):
        if instant > until or len(found) >= limit:
            break
        found.append(instant)
    return found


def last_tick(trigger: CronTrigger, after: datetime, until: datetime) -> datetime | None:
    """The latest tick ``t`` with ``after < t <= until``, or None.

    Scans forward over growing windows ending at ``until`` (croniter's ``get_prev`` is not
    reliable across DST transitions), so the cost is bounded by the ticks in the smallest
    window that holds one, not by the length of ``(after, until]``.
    """
    span = timedelta(minutes=1)
    while True:
        start = max(after, until - span)
        found = ticks_between(trigger, start, until, limit=10**9)
        if found:
            return found[-1]
        if start <= after:
            return None
        span *= 16


def next_tick(trigger: CronTrigger, after: datetime) -> datetime | None:
    """The first tick strictly after ``after`` (UTC); None when the expression never matches."""
    return next(iter_ticks(trigger, after), None)
