"""Trading-day arithmetic and the IPO payment deadline (16:00 Beijing on T+2)."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.brokerage.trading_calendar import CalendarRangeError, demo_calendar, weekday_calendar
from app.core.time import BEIJING


@pytest.fixture
def cal():
    return demo_calendar(date(2025, 12, 1), date(2026, 3, 31))


class TestShift:
    def test_skips_weekend(self, cal) -> None:
        assert cal.shift(date(2026, 1, 9), 1) == date(2026, 1, 12)

    def test_skips_spring_festival(self, cal) -> None:
        assert cal.shift(date(2026, 2, 13), 1) == date(2026, 2, 24)

    def test_backwards(self, cal) -> None:
        assert cal.shift(date(2026, 1, 5), -1) == date(2025, 12, 31)

    def test_zero_from_a_holiday_is_the_next_trading_day(self, cal) -> None:
        assert cal.shift(date(2026, 1, 1), 0) == date(2026, 1, 5)

    def test_outside_the_range_raises(self, cal) -> None:
        with pytest.raises(CalendarRangeError):
            cal.shift(date(2026, 3, 31), 1)


class TestIpoDeadline:
    @pytest.mark.parametrize(
        ("applied", "due"),
        [
            (date(2026, 1, 5), date(2026, 1, 7)),  # Mon -> Wed
            (date(2026, 1, 8), date(2026, 1, 12)),  # Thu -> Mon over the weekend
            (date(2025, 12, 30), date(2026, 1, 5)),  # Tue -> Mon over New Year
            (date(2026, 2, 12), date(2026, 2, 24)),  # Thu -> after Spring Festival
        ],
    )
    def test_t_plus_2_at_16(self, cal, applied: date, due: date) -> None:
        assert cal.ipo_payment_due_at(applied) == datetime(
            due.year, due.month, due.day, 16, 0, tzinfo=BEIJING
        )


def test_weekday_calendar_drops_holidays() -> None:
    cal = weekday_calendar(date(2026, 1, 5), date(2026, 1, 9), [date(2026, 1, 7)])
    assert cal.trading_days == (
        date(2026, 1, 5),
        date(2026, 1, 6),
        date(2026, 1, 8),
        date(2026, 1, 9),
    )
