"""Template data rules: placeholders, value types, the 20-character truncation, dedupe window."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.simulator.errors import WeChatFault
from app.simulator.template_messages import (
    ClientMsgIdWindow,
    Template,
    truncate,
    validate_data,
)

TEMPLATE = Template(
    "t",
    "标题",
    "{{first.DATA}}\n名称：{{thing1.DATA}}\n时间：{{time2.DATA}}\n金额：{{amount3.DATA}}",
)


def data(**values: str) -> dict[str, dict[str, str]]:
    base = {"thing1": "招商银行", "time2": "2026-01-05 10:00", "amount3": "¥35.20", **values}
    return {k: {"value": v} for k, v in base.items()}


@given(st.text(min_size=1, max_size=80))
def test_truncation_keeps_20_characters_then_an_ellipsis(value: str) -> None:
    shown = truncate(value)
    if len(value) <= 20:
        assert shown == value
    else:
        assert shown == value[:20] + "…"
        assert len(shown) == 21


@pytest.mark.parametrize(
    "value", ["2026-01-05", "2026-01-05 10:00:00", "2026年1月5日 10:00", "10:00", "09:30~11:30"]
)
def test_time_formats_accepted(value: str) -> None:
    assert validate_data(TEMPLATE, data(time2=value))["time2"] == value


@pytest.mark.parametrize("value", ["¥35.20", "35", "-12.5元", "$100"])
def test_amount_formats_accepted(value: str) -> None:
    assert validate_data(TEMPLATE, data(amount3=value))["amount3"] == value


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount3": "35.205"}, "data.amount3"),
        ({"amount3": "¥12345678901"}, "data.amount3"),
        ({"time2": "tomorrow"}, "data.time2"),
        ({"thing1": "   "}, "data.thing1"),
    ],
)
def test_invalid_values_name_the_field(values: dict[str, str], field: str) -> None:
    with pytest.raises(WeChatFault) as caught:
        validate_data(TEMPLATE, data(**values))
    assert caught.value.errcode == 47003
    assert field in caught.value.errmsg


def test_render_drops_hidden_and_empty_lines() -> None:
    shown = validate_data(TEMPLATE, {**data(), "first": {"value": "您好"}})
    assert TEMPLATE.render(shown) == "名称：招商银行\n时间：2026-01-05 10:00\n金额：¥35.20"


def test_dedupe_window_forgets_after_ten_minutes() -> None:
    window = ClientMsgIdWindow()
    window.remember("o", "c", 42, now=1000.0)
    assert window.lookup("o", "c", now=1599.0) == 42
    assert window.lookup("o", "c", now=1600.0) is None
    window.remember("o", "c", 43, now=1600.0)
    assert window.lookup("o", "c", now=1700.0) == 43
