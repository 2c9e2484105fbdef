"""`datetime`, `date`, `timedelta`, `timezone`: constructors and parsers returning plain
values (their attributes go through `attrs.py`)."""

from __future__ import annotations

import datetime as _dt
from typing import Any

from alloy_scripting.engine.toolbox.base import Namespace

MAX_DATE_TEXT = 256


def _tz(value: Any) -> Any:
    if value is None or type(value) is _dt.timezone:
        return value
    raise TypeError("tzinfo must be None or a timezone (e.g. timezone.utc)")


def _date_text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("argument must be str")
    if len(value) > MAX_DATE_TEXT:
        raise ValueError(f"date text longer than {MAX_DATE_TEXT} characters")
    return value


class DatetimeType(Namespace):
    """`datetime`: call it like the class; `now`, `fromisoformat`, ... are the classmethods."""

    SANDBOX_ATTRS = frozenset(
        {"now", "fromisoformat", "fromtimestamp", "combine", "strptime", "min", "max"}
    )
    SANDBOX_NAME = "datetime"
    REAL = _dt.datetime
    min = _dt.datetime.min
    max = _dt.datetime.max

    def __call__(
        self,
        year: int,
        month: int,
        day: int,
        hour: int = 0,
        minute: int = 0,
        second: int = 0,
        microsecond: int = 0,
        tzinfo: Any = None,
        *,
        fold: int = 0,
    ) -> _dt.datetime:
        return _dt.datetime(
            year, month, day, hour, minute, second, microsecond, _tz(tzinfo), fold=fold
        )

    def now(self, tz: Any = None) -> _dt.datetime:
        return _dt.datetime.now(_tz(tz))

    def fromisoformat(self, text: str) -> _dt.datetime:
        return _dt.datetime.fromisoformat(_date_text(text))

    def fromtimestamp(self, timestamp: float, tz: Any = None) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(timestamp, _tz(tz))

    def combine(self, date: _dt.date, time: _dt.time, tzinfo: Any = None) -> _dt.datetime:
        if tzinfo is None:
            return _dt.datetime.combine(date, time)
        return _dt.datetime.combine(date, time, _tz(tzinfo))

    def strptime(self, text: str, fmt: str) -> _dt.datetime:
        return _dt.datetime.strptime(_date_text(text), _date_text(fmt))


class DateType(Namespace):
    SANDBOX_ATTRS = frozenset({"today", "fromisoformat", "fromordinal", "min", "max"})
    SANDBOX_NAME = "date"
    REAL = _dt.date
    min = _dt.date.min
    max = _dt.date.max

    def __call__(self, year: int, month: int, day: int) -> _dt.date:
        return _dt.date(year, month, day)

    def today(self) -> _dt.date:
        return _dt.date.today()

    def fromisoformat(self, text: str) -> _dt.date:
        return _dt.date.fromisoformat(_date_text(text))

    def fromordinal(self, ordinal: int) -> _dt.date:
        return _dt.date.fromordinal(ordinal)


class TimedeltaType(Namespace):
    SANDBOX_ATTRS = frozenset({"min", "max", "resolution"})
    SANDBOX_NAME = "timedelta"
    REAL = _dt.timedelta
    min = _dt.timedelta.min
    max = _dt.timedelta.max
    resolution = _dt.timedelta.resolution

    def __call__(
        self,
        days: float = 0,
        seconds: float = 0,
        microseconds: float = 0,
        milliseconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        weeks: float = 0,
    ) -> _dt.timedelta:
        return _dt.timedelta(days, seconds, microseconds, milliseconds, minutes, hours, weeks)


class TimezoneType(Namespace):
    SANDBOX_ATTRS = frozenset({"utc"})
    SANDBOX_NAME = "timezone"
    REAL = _dt.timezone
    utc = _dt.UTC

    def __call__(self, offset: _dt.timedelta, name: str | None = None) -> _dt.timezone:
        if name is None:
            return _dt.timezone(offset)
        return _dt.timezone(offset, _date_text(name))
