"""Validation of every alert type, target and request model."""

from __future__ import annotations

import copy
from typing import Any

import pydantic
import pytest

from app.alerts.schemas import INGEST_ALERT, AlertBatch, BroadcastRequest, PreferencesUpdate
from tests.alerts.samples import PAYLOADS, alert_body

TARGET = {"kind": "openids", "openids": ["oFan000001"]}

# (type, field, bad value): one invalid field per alert type.
INVALID = [
    ("trade_fill", "price", "-1"),
    ("trade_fill", "quantity", 0),
    ("trade_fill", "filled_at", "2026-01-05T10:00:00"),  # naive time
    ("trade_fill", "security_code", "6005"),
    ("order_status", "status", "lost"),
    ("fund_transfer", "amount", "0"),
    ("fund_transfer", "direction", "sideways"),
    ("ipo_subscription_open", "subscribe_date", "tomorrow"),
    ("ipo_lottery_result", "payment_due_date", None),  # won without a payment date
    ("ipo_payment_due", "amount", "NaN"),
    ("ipo_listing", "issue_price", "0"),
    ("dividend", "cash_per_10_shares", "-2"),
    ("watchlist_price", "direction", "sideways"),
    ("watchlist_percent", "threshold_pct", "0"),
    ("financial_product", "event", "lottery"),
    ("security_login", "device", ""),
    ("margin_call", "shortfall", "0"),
    ("announcement", "title", "限时优惠，快来抢购"),  # advertising wording
]


def _with(alert_type: str, field: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(alert_body(alert_type, TARGET))
    body["payload"][field] = value
    return body


class TestAlertTypes:
    @pytest.mark.parametrize("alert_type", sorted(PAYLOADS))
    def test_sample_of_each_type_is_valid(self, alert_type: str) -> None:
        alert = INGEST_ALERT.validate_python(alert_body(alert_type, TARGET))
        assert alert.type == alert_type

    @pytest.mark.parametrize(("alert_type", "field", "value"), INVALID)
    def test_each_type_rejects_a_bad_field(self, alert_type: str, field: str, value: Any) -> None:
        with pytest.raises(pydantic.ValidationError):
            INGEST_ALERT.validate_python(_with(alert_type, field, value))

    @pytest.mark.parametrize("alert_type", sorted(PAYLOADS))
    def test_unknown_payload_fields_are_rejected(self, alert_type: str) -> None:
        with pytest.raises(pydantic.ValidationError):
            INGEST_ALERT.validate_python(_with(alert_type, "surprise", 1))

    def test_unknown_type_is_rejected(self) -> None:
        with pytest.raises(pydantic.ValidationError):
            INGEST_ALERT.validate_python({**alert_body("trade_fill", TARGET), "type": "lottery"})

    def test_broadcast_is_not_accepted_on_the_ingest(self) -> None:
        body = {"type": "broadcast", "target": TARGET, "payload": {"title": "a", "body": "b"}}
        with pytest.raises(pydantic.ValidationError):
            INGEST_ALERT.validate_python(body)


class TestTargets:
    @pytest.mark.parametrize(
        "target",
        [
            {"kind": "customer", "client_id": "C1"},
            {"kind": "topic", "topic": "security:600519"},
            {"kind": "topic", "topic": "ipo"},
            {"kind": "topic", "topic": "all"},
            {"kind": "segment", "segment": "vip.shanghai"},
            {"kind": "openids", "openids": ["oFan000001", "oFan000002"]},
        ],
    )
    def test_valid_targets(self, target: dict[str, Any]) -> None:
        INGEST_ALERT.validate_python(alert_body("announcement", target))

    @pytest.mark.parametrize(
        "target",
        [
            {"kind": "topic", "topic": "security:ABC"},
            {"kind": "topic", "topic": "lottery"},
            {"kind": "segment", "segment": "Bad Name"},
            {"kind": "openids", "openids": []},
            {"kind": "openids", "openids": ["x"]},
            {"kind": "openids", "openids": ["oFan000001"] * 1001},
            {"kind": "planet", "name": "mars"},
            {"kind": "customer"},
        ],
    )
    def test_invalid_targets(self, target: dict[str, Any]) -> None:
        with pytest.raises(pydantic.ValidationError):
            INGEST_ALERT.validate_python(alert_body("announcement", target))


class TestRequests:
    def test_batch_accepts_up_to_one_hundred(self) -> None:
        AlertBatch.model_validate({"alerts": [alert_body("dividend", TARGET)] * 100})
        with pytest.raises(pydantic.ValidationError):
            AlertBatch.model_validate({"alerts": [alert_body("dividend", TARGET)] * 101})

    def test_broadcast_refuses_advertising(self) -> None:
        with pytest.raises(pydantic.ValidationError):
            BroadcastRequest.model_validate(
                {"target": {"kind": "topic", "topic": "all"}, "title": "红包", "body": "x"}
            )

    def test_broadcast_targets_only_topics_and_segments(self) -> None:
        with pytest.raises(pydantic.ValidationError):
            BroadcastRequest.model_validate({"target": TARGET, "title": "a", "body": "b"})

    @pytest.mark.parametrize(("start", "end"), [(22, None), (None, 8), (8, 8), (24, 1)])
    def test_quiet_hours_need_a_valid_pair(self, start: int | None, end: int | None) -> None:
        with pytest.raises(pydantic.ValidationError):
            PreferencesUpdate(quiet_start_hour=start, quiet_end_hour=end)
