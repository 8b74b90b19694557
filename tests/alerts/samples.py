"""Valid sample payloads for every alert type, and request builders for the signed API."""

from __future__ import annotations

import json
from typing import Any

from app.alerts import signing

SECRET = "test-ingest-secret"
AT = "2026-01-05T10:00:00+08:00"

PAYLOADS: dict[str, dict[str, Any]] = {
    "trade_fill": {
        "account_no": "310000123456",
        "order_id": "O-1",
        "security_code": "600519",
        "security_name": "贵州茅台",
        "side": "buy",
        "price": "1800.50",
        "quantity": 100,
        "filled_at": AT,
    },
    "order_status": {
        "account_no": "310000123456",
        "order_id": "O-2",
        "security_code": "000001",
        "security_name": "平安银行",
        "side": "sell",
        "status": "cancelled",
        "updated_at": AT,
    },
    "fund_transfer": {
        "account_no": "310000123456",
        "direction": "in",
        "amount": "50000.00",
        "bank_name": "招商银行",
        "status": "success",
        "at": AT,
    },
    "ipo_subscription_open": {
        "security_code": "301001",
        "security_name": "示例科技",
        "issue_price": "25.60",
        "subscribe_date": "2026-01-06",
    },
    "ipo_lottery_result": {
        "account_no": "310000123456",
        "security_code": "301001",
        "security_name": "示例科技",
        "won_quantity": 500,
        "payment_amount": "12800.00",
        "payment_due_date": "2026-01-08",
    },
    "ipo_payment_due": {
        "account_no": "310000123456",
        "security_code": "301001",
        "security_name": "示例科技",
        "amount": "12800.00",
        "due_at": "2026-01-08T16:00:00+08:00",
    },
    "ipo_listing": {
        "security_code": "301001",
        "security_name": "示例科技",
        "listing_date": "2026-01-15",
        "issue_price": "25.60",
    },
    "dividend": {
        "security_code": "600519",
        "security_name": "贵州茅台",
        "cash_per_10_shares": "239.57",
        "ex_date": "2026-06-20",
        "pay_date": "2026-06-20",
    },
    "watchlist_price": {
        "security_code": "600519",
        "security_name": "贵州茅台",
        "price": "1801.00",
        "threshold": "1800",
        "direction": "up",
        "at": AT,
    },
    "watchlist_percent": {
        "security_code": "600519",
        "security_name": "贵州茅台",
        "price": "1890.00",
        "change_pct": "5.12",
        "threshold_pct": "5",
        "at": AT,
    },
    "financial_product": {
        "product_name": "稳健理财1号",
        "event": "income_paid",
        "amount": "123.45",
        "at": AT,
    },
    "security_login": {"device": "iPhone 15", "location": "上海", "at": AT},
    "margin_call": {
        "account_no": "310000123456",
        "maintenance_ratio": "128.5",
        "required_ratio": "130",
        "shortfall": "25000",
        "deadline": "2026-01-06T15:00:00+08:00",
    },
    "announcement": {
        "title": "春节休市安排",
        "summary": "2月16日至2月22日休市，2月23日起照常开市。",
        "published_at": AT,
    },
}


def alert_body(alert_type: str, target: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": alert_type, "target": target, "payload": PAYLOADS[alert_type], **extra}


def encode(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


def signed_headers(
    raw: bytes, *, ts: int, key: str | None = "k-1", secrets: list[str] | None = None
) -> dict[str, str]:
    headers = {
        "X-Broker-Signature": signing.signature_header(secrets or [SECRET], ts, raw),
        "Content-Type": "application/json",
    }
    if key is not None:
        headers["Idempotency-Key"] = key
    return headers
