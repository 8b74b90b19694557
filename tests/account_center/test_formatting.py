"""Number formatting as a Chinese brokerage app shows it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.account_center import formatting as fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1234567.891", "¥1,234,567.89"),
        ("0", "¥0.00"),
        ("-1234.5", "-¥1,234.50"),
        ("0.005", "¥0.01"),
    ],
)
def test_money_has_separators_and_two_decimals(value: str, shown: str) -> None:
    assert fmt.money(Decimal(value)) == shown


@pytest.mark.parametrize(
    ("value", "shown"), [("1234", "▲+¥1,234.00"), ("-56.7", "▼-¥56.70"), ("0", "¥0.00")]
)
def test_pnl_has_arrows(value: str, shown: str) -> None:
    assert fmt.pnl(Decimal(value)) == shown


def test_percent_from_ratio() -> None:
    assert fmt.percent(Decimal("0.123456")) == "+12.35%"
    assert fmt.percent(Decimal("-0.05")) == "-5.00%"
    assert fmt.percent(Decimal("2.8532"), signed=False) == "285.32%"


def test_trend_classes_follow_chinese_colours() -> None:
    assert (fmt.trend(Decimal(1)), fmt.trend(Decimal(-1)), fmt.trend(Decimal(0))) == (
        "up",
        "down",
        "flat",
    )


def test_times_are_beijing() -> None:
    moment = datetime(2026, 1, 9, 8, 0, tzinfo=UTC)
    assert fmt.hhmm(moment) == "16:00"
    assert fmt.month_day_time(moment) == "1月9日16:00"
