"""Numbers as a Chinese brokerage app shows them: ¥1,234.56, +12.34%, ▲/▼ for P&L."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from app.core.time import BEIJING

CENT = Decimal("0.01")
UP = "▲"
DOWN = "▼"


def money(value: Decimal) -> str:
    """`¥1,234,567.89`; negatives as `-¥1,234.00`."""
    q = value.quantize(CENT, rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    return f"{sign}¥{abs(q):,.2f}"


def number(value: Decimal) -> str:
    """A price or amount without the currency sign: `1,234.56`."""
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP):,.2f}"


def quantity(value: int) -> str:
    return f"{value:,}"


def percent(ratio: Decimal, *, signed: bool = True) -> str:
    """0.1234 → `+12.34%` (ratio, not percent points)."""
    pct = (ratio * 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if signed and pct > 0:
        return f"+{pct}%"
    return f"{pct}%"


def pnl(value: Decimal) -> str:
    """`▲+¥1,234.00` / `▼-¥56.70` / `¥0.00`."""
    q = value.quantize(CENT, rounding=ROUND_HALF_UP)
    if q > 0:
        return f"{UP}+{money(q)}"
    if q < 0:
        return f"{DOWN}{money(q)}"
    return money(q)


def signed_money(value: Decimal) -> str:
    """Money movements: `+¥500.00` in, `-¥120.00` out."""
    q = value.quantize(CENT, rounding=ROUND_HALF_UP)
    return f"+{money(q)}" if q > 0 else money(q)


def trend(value: Decimal) -> str:
    """CSS class for H5 pages: red for gains, green for losses (Chinese market colours)."""
    if value > 0:
        return "up"
    if value < 0:
        return "down"
    return "flat"


def hhmm(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%H:%M")


def hhmmss(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%H:%M:%S")


def day(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def month_day_time(moment: datetime) -> str:
    """`1月9日16:00` (Beijing)."""
    local = moment.astimezone(BEIJING)
    return f"{local.month}月{local.day}日{local:%H:%M}"
