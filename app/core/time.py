"""Clocks: inject one, never call `datetime.now()` in business code."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

BEIJING = timezone(timedelta(hours=8), name="Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime: ...

    def timestamp(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def timestamp(self) -> float:
        return time.time()


@dataclass
class FakeClock:
    """A clock tests advance by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 2, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def timestamp(self) -> float:
        return self.current.timestamp()

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_beijing_midnight(now: datetime) -> datetime:
    """The next daily-quota reset (WeChat counters reset at midnight Beijing time)."""
    local = now.astimezone(BEIJING)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight.astimezone(UTC)
