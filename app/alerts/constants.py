"""Alert types, preference categories and the limits of the ingest API."""

from __future__ import annotations

from enum import StrEnum

from app.push.constants import Severity

__all__ = ["AlertType", "Category", "Severity"]


class AlertType(StrEnum):
    TRADE_FILL = "trade_fill"
    ORDER_STATUS = "order_status"
    FUND_TRANSFER = "fund_transfer"
    IPO_SUBSCRIPTION_OPEN = "ipo_subscription_open"
    IPO_LOTTERY_RESULT = "ipo_lottery_result"
    IPO_PAYMENT_DUE = "ipo_payment_due"
    IPO_LISTING = "ipo_listing"
    DIVIDEND = "dividend"
    WATCHLIST_PRICE = "watchlist_price"
    WATCHLIST_PERCENT = "watchlist_percent"
    FINANCIAL_PRODUCT = "financial_product"
    SECURITY_LOGIN = "security_login"
    MARGIN_CALL = "margin_call"
    ANNOUNCEMENT = "announcement"
    BROADCAST = "broadcast"


class Category(StrEnum):
    """Topic preferences a fan can switch off (marketing is opt-in: off until switched on)."""

    TRADE = "trade"
    IPO = "ipo"
    WATCHLIST = "watchlist"
    FINANCIAL = "financial"
    MARKETING = "marketing"


# Opt-out categories default to on; marketing needs an explicit opt-in.
CATEGORY_DEFAULTS: dict[Category, bool] = {
    Category.TRADE: True,
    Category.IPO: True,
    Category.WATCHLIST: True,
    Category.FINANCIAL: True,
    Category.MARKETING: False,
}

SIGNATURE_HEADER = "X-Broker-Signature"
IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
SIGNATURE_TOLERANCE_S = 300
IDEMPOTENCY_TTL_S = 24 * 3600
MAX_BODY_BYTES = 1024 * 1024
MAX_BATCH = 100
MAX_OPENIDS_PER_TARGET = 1000
MAX_TICKS_PER_REQUEST = 5000
MAX_WATCHLIST_PER_FAN = 50
# WeChat shows at most 20 characters per template field since 2023-05-04 (FACTS.md §5.2).
TEMPLATE_FIELD_MAX_CHARS = 20
ELLIPSIS = "…"
