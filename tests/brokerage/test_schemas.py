"""Counter responses: arbitrary JSON parses into our models or raises only BrokerageError."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from app.brokerage import client
from app.brokerage.errors import (
    ERRORS_BY_CODE,
    AccountLockedError,
    BrokerageError,
    InvalidCredentialsError,
    MaintenanceError,
    RateLimitedError,
)
from app.brokerage.gateway import (
    Assets,
    CalendarRange,
    Holder,
    HoldingPnl,
    IpoSubscription,
    Liabilities,
    Order,
    Position,
)
from app.brokerage.schemas import ErrorBody, error_body, error_from_body
from app.brokerage.transport import CounterResponse

MODELS: list[Any] = [
    Assets,
    Liabilities,
    HoldingPnl,
    Holder,
    CalendarRange,
    list[Position],
    list[Order],
    list[IpoSubscription],
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=6)
    ),
    max_leaves=30,
)
position_like = st.fixed_dictionaries(
    {
        "security_code": st.text(max_size=8) | st.integers(),
        "security_name": st.text(max_size=10),
        "market": st.sampled_from(["SH", "SZ", "BJ", "HK", ""]),
        "quantity": st.integers(min_value=-5, max_value=10**13) | st.text(max_size=5),
        "available_quantity": st.integers(min_value=0, max_value=100),
        "cost_price": st.decimals(allow_nan=True, allow_infinity=True).map(str) | st.floats(),
        "last_price": st.sampled_from(["1.00", "NaN", "1e999", "-0.1", "abc"]),
        "previous_close": st.just("1.00"),
        "market_value": st.just("100.00"),
        "pnl_amount": st.just("0"),
        "pnl_ratio": st.just("0.1"),
        "today_pnl": st.just("0"),
    }
)


def _response(status: int, payload: object) -> CounterResponse:
    return CounterResponse(status, {}, json.dumps(payload).encode())


def _parse_or_our_error(status: int, body: bytes, model: Any) -> None:
    response = CounterResponse(status, {}, body)
    with contextlib.suppress(BrokerageError):
        parsed = client._parse("test", response, model)
        items = parsed if isinstance(parsed, list) else [parsed]
        assert all(isinstance(item, BaseModel) for item in items)


class TestParse:
    @settings(max_examples=150, deadline=None)
    @given(
        st.sampled_from([200, 400, 401, 404, 423, 429, 500, 502, 503]),
        json_values,
        st.sampled_from(MODELS),
    )
    def test_any_json_gives_a_model_or_a_brokerage_error(
        self, status: int, payload: object, model: Any
    ) -> None:
        _parse_or_our_error(status, json.dumps(payload).encode(), model)

    @settings(max_examples=100, deadline=None)
    @given(st.binary(max_size=300), st.integers(min_value=100, max_value=599))
    def test_any_bytes_give_a_model_or_a_brokerage_error(self, body: bytes, status: int) -> None:
        _parse_or_our_error(status, body, Assets)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(position_like, max_size=3))
    def test_position_like_rows(self, rows: list[dict[str, object]]) -> None:
        _parse_or_our_error(200, json.dumps({"data": rows}).encode(), list[Position])

    @settings(max_examples=100, deadline=None)
    @given(json_values)
    def test_arbitrary_error_envelopes(self, error: object) -> None:
        _parse_or_our_error(503, json.dumps({"error": error}).encode(), Assets)

    def test_non_aware_datetimes_are_refused(self) -> None:
        response = _response(
            200, {"data": {"start": "2026-01-01", "end": "2026-01-02", "trading_days": ["x"]}}
        )
        with pytest.raises(BrokerageError):
            client._parse("calendar", response, CalendarRange)


class TestErrorCodes:
    @pytest.mark.parametrize("cls", list(ERRORS_BY_CODE.values()), ids=list(ERRORS_BY_CODE))
    def test_every_code_round_trips_to_its_class(self, cls: type[BrokerageError]) -> None:
        body = error_body(cls("boom"))
        again = error_from_body(ErrorBody.model_validate_json(body.model_dump_json()))
        assert type(again) is cls

    def test_details_survive(self) -> None:
        cases: list[BrokerageError] = [
            InvalidCredentialsError(attempts_left=2),
            RateLimitedError(retry_after_s=42),
            AccountLockedError(),
            MaintenanceError(),
        ]
        for exc in cases:
            again = error_from_body(error_body(exc))
            assert vars(again) == vars(exc)

    def test_unknown_code_is_the_base_class(self) -> None:
        error = error_from_body(ErrorBody(code="martian", message="?"))
        assert type(error) is BrokerageError
