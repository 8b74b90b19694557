"""Trading calendar arithmetic (Beijing dates) and the IPO payment deadline rule."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from app.core.time import BEIJING

#: IPO winners pay by 16:00 Beijing on T+2 (T = application day, counted in trading days).
IPO_PAYMENT_CUTOFF = time(16, 0)
IPO_PAYMENT_OFFSET_DAYS = 2

# Weekday exchange closures of the SSE/SZSE (public holidays and their bridge days). The sandbox
# and the in-memory fake use them; the real calendar always comes from the counter.
CN_EXCHANGE_HOLIDAYS: frozenset[date] = frozenset(
    date.fromisoformat(d)
    for d in (
        # 2025
        "2025-01-01",
        "2025-01-28",
        "2025-01-29",
        "2025-01-30",
        "2025-01-31",
        "2025-02-03",
        "2025-02-04",
        "2025-04-04",
        "2025-05-01",
        "2025-05-02",
        "2025-05-05",
        "2025-06-02",
        "2025-10-01",
        "2025-10-02",
        "2025-10-03",
        "2025-10-06",
        "2025-10-07",
        "2025-10-08",
        # 2026
        "2026-01-01",
        "2026-01-02",
        "2026-02-16",
        "2026-02-17",
        "2026-02-18",
        "2026-02-19",
        "2026-02-20",
        "2026-02-23",
        "2026-04-06",
        "2026-05-01",
        "2026-05-04",
        "2026-05-05",
        "2026-06-19",
        "2026-09-25",
        "2026-10-01",
        "2026-10-02",
        "2026-10-05",
        "2026-10-06",
        "2026-10-07",
    )
)


class CalendarRangeError(ValueError):
    """A date outside the range the calendar was loaded for."""


@dataclass(frozen=True, slots=True)
class TradingCalendar:
    """Trading days within [start, end]. Arithmetic outside that range raises."""

    start: date
    end: date
    trading_days: tuple[date, ...]
    _days: frozenset[date] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        days = tuple(sorted(d for d in set(self.trading_days) if self.start <= d <= self.end))
        object.__setattr__(self, "trading_days", days)
        object.__setattr__(self, "_days", frozenset(days))

    def _check(self, day: date) -> None:
        if not self.start <= day <= self.end:
            raise CalendarRangeError(f"{day} outside calendar {self.start}..{self.end}")

    def is_trading_day(self, day: date) -> bool:
        self._check(day)
        return day in self._days

    def shift(self, day: date, trading_days: int) -> date:
        """The trading day `trading_days` after (or before, if negative) `day`.

        A non-trading `day` counts from the boundary: shift(saturday, 1) is Monday.
        """
        self._check(day)
        step = 1 if trading_days >= 0 else -1
        remaining = abs(trading_days)
        current = day
        if remaining == 0:
            return self.next_or_same(day)
        while remaining:
            current += timedelta(days=step)
            self._check(current)
            if current in self._days:
                remaining -= 1
        return current

    def next_or_same(self, day: date) -> date:
        """`day` if it is a trading day, else the next trading day."""
        current = day
        while True:
            self._check(current)
            if current in self._days:
                return current
            current += timedelta(days=1)

    def ipo_payment_due_at(self, applied_on: date) -> datetime:
        """16:00 Beijing on T+2 trading days after the application day T."""
        due_day = self.shift(applied_on, IPO_PAYMENT_OFFSET_DAYS)
        return datetime.combine(due_day, IPO_PAYMENT_CUTOFF, tzinfo=BEIJING)


def weekday_calendar(start: date, end: date, holidays: Iterable[date]) -> TradingCalendar:
    """Monday to Friday minus `holidays`: how the sandbox builds its calendar."""
    closed = frozenset(holidays)
    days = []
    current = start
    while current <= end:
        if current.weekday() < 5 and current not in closed:
            days.append(current)
        current += timedelta(days=1)
    return TradingCalendar(start=start, end=end, trading_days=tuple(days))


def demo_calendar(start: date, end: date) -> TradingCalendar:
    """The exchanges' calendar as the sandbox and the fake know it."""
    return weekday_calendar(start, end, CN_EXCHANGE_HOLIDAYS)
