"""Tick arithmetic: expressions, zones and daylight-saving transitions (runner.cron)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from alloy_scripting.model.script import Cron
from alloy_scripting.runner.cron import (
    last_tick,
    next_tick,
    repeats_in_fold,
    ticks_between,
)


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "zone", "after", "until", "expected"),
    [
        (
            "*/15 * * * *",
            "UTC",
            utc(2025, 6, 1, 10, 0),
            utc(2025, 6, 1, 11, 0),
            [
                utc(2025, 6, 1, 10, 15),
                utc(2025, 6, 1, 10, 30),
                utc(2025, 6, 1, 10, 45),
                utc(2025, 6, 1, 11, 0),
            ],
        ),
        (  # weekdays at 09:00 New York: EDT (UTC-4) in June; Saturday/Sunday skipped
            "0 9 * * 1-5",
            "America/New_York",
            utc(2025, 6, 5, 0),
            utc(2025, 6, 10, 0),
            [utc(2025, 6, 5, 13), utc(2025, 6, 6, 13), utc(2025, 6, 9, 13)],
        ),
        (  # the same in January: EST (UTC-5)
            "0 9 * * 1-5",
            "America/New_York",
            utc(2025, 1, 9, 0),
            utc(2025, 1, 11, 0),
            [utc(2025, 1, 9, 14), utc(2025, 1, 10, 14)],
        ),
        (  # a half-hour zone: 02:30 IST is 21:00 UTC the day before
            "30 2 * * *",
            "Asia/Kolkata",
            utc(2025, 6, 1, 0),
            utc(2025, 6, 3, 0),
            [utc(2025, 6, 1, 21), utc(2025, 6, 2, 21)],
        ),
        (  # 6 fields: the sixth is seconds
            "* * * * * *",
            "Europe/Berlin",
            utc(2025, 6, 1, 10, 0, 0),
            utc(2025, 6, 1, 10, 0, 3),
            [utc(2025, 6, 1, 10, 0, 1), utc(2025, 6, 1, 10, 0, 2), utc(2025, 6, 1, 10, 0, 3)],
        ),
        (
            "0 0 1 * *",
            "Europe/Paris",
            utc(2025, 1, 15),
            utc(2025, 4, 15),
            [utc(2025, 1, 31, 23), utc(2025, 2, 28, 23), utc(2025, 3, 31, 22)],
        ),
        (  # @daily in Tokyo (no DST)
            "@daily",
            "Asia/Tokyo",
            utc(2025, 6, 1, 0),
            utc(2025, 6, 2, 0),
            [utc(2025, 6, 1, 15)],
        ),
    ],
)
def test_ticks_between(
    expression: str, zone: str, after: datetime, until: datetime, expected: list[datetime]
) -> None:
    ticks = ticks_between(Cron(expression, zone), after, until)
    assert ticks == expected
    assert all(t.tzinfo is UTC for t in ticks)


def test_window_is_exclusive_at_start_and_inclusive_at_end() -> None:
    trigger = Cron("0 * * * *")
    assert ticks_between(trigger, utc(2025, 6, 1, 10), utc(2025, 6, 1, 11)) == [utc(2025, 6, 1, 11)]
    assert ticks_between(trigger, utc(2025, 6, 1, 11), utc(2025, 6, 1, 11)) == []


def test_aware_non_utc_inputs_are_instants() -> None:
    from zoneinfo import ZoneInfo

    after = datetime(2025, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # 10:00 UTC
    assert next_tick(Cron("0 * * * *"), after) == utc(2025, 6, 1, 11)


# -- daylight saving ------------------------------------------------------------------------


class TestBerlin:
    """Europe/Berlin 2025: 30 March 02:00 CET -> 03:00 CEST; 26 October 03:00 CEST -> 02:00 CET."""

    def test_spring_forward_skipped_time_runs_once_at_the_end_of_the_gap(self) -> None:
        ticks = ticks_between(
            Cron("30 2 * * *", "Europe/Berlin"), utc(2025, 3, 28, 12), utc(2025, 4, 1, 12)
        )
        assert ticks == [
            utc(2025, 3, 29, 1, 30),  # 02:30 CET
            utc(2025, 3, 30, 1, 0),  # 02:30 does not exist: 03:00 CEST
            utc(2025, 3, 31, 0, 30),  # 02:30 CEST
            utc(2025, 4, 1, 0, 30),
        ]

    def test_spring_forward_several_skipped_times_collapse_to_one(self) -> None:
        ticks = ticks_between(
            Cron("*/15 2 * * *", "Europe/Berlin"), utc(2025, 3, 29, 12), utc(2025, 3, 30, 12)
        )
        assert ticks == [utc(2025, 3, 30, 1, 0)]

    def test_spring_forward_hourly_has_no_duplicate(self) -> None:
        ticks = ticks_between(
            Cron("0 * * * *", "Europe/Berlin"), utc(2025, 3, 29, 23, 30), utc(2025, 3, 30, 2, 30)
        )
        # 01:00 CET, (02:00 skipped ->) 03:00 CEST, 04:00 CEST: one tick per real hour
        assert ticks == [utc(2025, 3, 30, 0), utc(2025, 3, 30, 1), utc(2025, 3, 30, 2)]

    def test_fall_back_fixed_time_runs_once_on_the_first_pass(self) -> None:
        ticks = ticks_between(
            Cron("30 2 * * *", "Europe/Berlin"), utc(2025, 10, 24, 12), utc(2025, 10, 28, 12)
        )
        assert ticks == [
            utc(2025, 10, 25, 0, 30),  # 02:30 CEST
            utc(2025, 10, 26, 0, 30),  # 02:30 CEST, first pass; not again at 02:30 CET
            utc(2025, 10, 27, 1, 30),  # 02:30 CET
            utc(2025, 10, 28, 1, 30),
        ]

    def test_fall_back_fixed_hour_with_minute_steps_runs_the_first_pass_only(self) -> None:
        ticks = ticks_between(
            Cron("*/15 2 * * *", "Europe/Berlin"), utc(2025, 10, 25, 12), utc(2025, 10, 26, 12)
        )
        assert ticks == [utc(2025, 10, 26, 0, m) for m in (0, 15, 30, 45)]

    def test_fall_back_wildcard_hour_runs_every_real_instant(self) -> None:
        ticks = ticks_between(
            Cron("*/15 * * * *", "Europe/Berlin"),
            utc(2025, 10, 25, 23, 50),
            utc(2025, 10, 26, 2, 0),
        )
        expected = [utc(2025, 10, 26, 0, 0) + timedelta(minutes=15 * i) for i in range(9)]
        assert ticks == expected  # 02:00..02:45 CEST, 02:00..02:45 CET, 03:00 CET

    def test_fall_back_per_second_is_continuous(self) -> None:
        ticks = ticks_between(
            Cron("* * * * * *", "Europe/Berlin"),
            utc(2025, 10, 26, 0, 59, 57),
            utc(2025, 10, 26, 1, 0, 2),
        )
        assert ticks == [utc(2025, 10, 26, 0, 59, 57) + timedelta(seconds=i) for i in range(1, 6)]

    def test_starting_inside_the_second_pass(self) -> None:
        trigger = Cron("30 2 * * *", "Europe/Berlin")
        # 02:10 CET (second pass): 02:30 CET is dropped, the next tick is the next day
        assert next_tick(trigger, utc(2025, 10, 26, 1, 10)) == utc(2025, 10, 27, 1, 30)
        # 02:40 CEST (first pass, after 02:30): likewise
        assert next_tick(trigger, utc(2025, 10, 26, 0, 40)) == utc(2025, 10, 27, 1, 30)


class TestNewYork:
    """America/New_York 2025: 9 March 02:00 EST -> 03:00 EDT; 2 November 02:00 EDT -> 01:00 EST."""

    def test_spring_forward(self) -> None:
        ticks = ticks_between(
            Cron("30 2 * * *", "America/New_York"), utc(2025, 3, 8, 0), utc(2025, 3, 10, 12)
        )
        assert ticks == [
            utc(2025, 3, 8, 7, 30),  # 02:30 EST
            utc(2025, 3, 9, 7, 0),  # 02:30 does not exist: 03:00 EDT
            utc(2025, 3, 10, 6, 30),  # 02:30 EDT
        ]

    def test_fall_back_fixed_time_once(self) -> None:
        ticks = ticks_between(
            Cron("30 1 * * *", "America/New_York"), utc(2025, 11, 1, 12), utc(2025, 11, 3, 12)
        )
        assert ticks == [utc(2025, 11, 2, 5, 30), utc(2025, 11, 3, 6, 30)]

    def test_fall_back_wildcard_hour_both_passes(self) -> None:
        ticks = ticks_between(
            Cron("*/30 * * * *", "America/New_York"),
            utc(2025, 11, 2, 4, 50),
            utc(2025, 11, 2, 7, 0),
        )
        # 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST, 02:00 EST
        assert ticks == [utc(2025, 11, 2, 5, 0) + timedelta(minutes=30 * i) for i in range(5)]


def test_repeats_in_fold() -> None:
    assert repeats_in_fold("*/15 * * * *")
    assert repeats_in_fold("* * * * * *")
    assert repeats_in_fold("0 0-23 * * *")
    assert repeats_in_fold("@hourly")
    assert not repeats_in_fold("30 2 * * *")
    assert not repeats_in_fold("0 */2 * * *")
    assert not repeats_in_fold("@daily")


def test_next_tick_of_an_expression_that_never_matches() -> None:
    assert next_tick(Cron("0 0 31 2 *"), utc(2025, 1, 1)) is None
    assert ticks_between(Cron("0 0 31 2 *"), utc(2025, 1, 1), utc(2026, 1, 1)) == []


def test_last_tick() -> None:
    daily = Cron("0 6 * * *")
    assert last_tick(daily, utc(2025, 6, 1), utc(2025, 6, 10, 12)) == utc(2025, 6, 10, 6)
    assert last_tick(daily, utc(2025, 6, 10, 7), utc(2025, 6, 10, 12)) is None
    assert last_tick(daily, utc(2025, 6, 10, 6), utc(2025, 6, 10, 6)) is None
    every_second = Cron("* * * * * *")
    assert last_tick(every_second, utc(2025, 1, 1), utc(2025, 6, 1, 0, 0, 0, 500_000)) == utc(
        2025, 6, 1
    )
    fixed = Cron("30 2 * * *", "Europe/Berlin")  # the dropped second pass is not a candidate
    assert last_tick(fixed, utc(2025, 10, 25), utc(2025, 10, 26, 1, 45)) == utc(2025, 10, 26, 0, 30)
