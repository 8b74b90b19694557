"""The template table: alert type → template id, field mapping, truncation, link, severity.

Truncation rule (WeChat shows at most 20 characters per field since 2023-05-04 and cuts the rest
itself): every rendered value longer than 20 characters (Python code points) becomes its first 19
characters plus "…", so what the fan sees is decided here, not by WeChat. Values are single-line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.alerts import texts
from app.alerts.constants import ELLIPSIS, TEMPLATE_FIELD_MAX_CHARS, AlertType, Category, Severity
from app.alerts.schemas import (
    Announcement,
    Broadcast,
    Dividend,
    FinancialProduct,
    FundTransfer,
    IpoListing,
    IpoLotteryResult,
    IpoPaymentDue,
    IpoSubscriptionOpen,
    MarginCall,
    OrderStatus,
    SecurityLogin,
    TradeFill,
    WatchlistPercent,
    WatchlistPrice,
)
from app.core.security import mask_account_no
from app.core.time import BEIJING


def truncate_field(value: str, limit: int = TEMPLATE_FIELD_MAX_CHARS) -> str:
    """One line, at most `limit` characters, "…" marking a cut."""
    flat = " ".join(value.split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1] + ELLIPSIS


def money(value: Decimal) -> str:
    return f"¥{value.quantize(Decimal('0.01'))}"


def price(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def when(value: datetime) -> str:
    return value.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def day(value: date) -> str:
    return value.strftime("%Y-%m-%d")


def stock(name: str, code: str) -> str:
    return f"{name}({code})"


def _trade_fill(p: TradeFill) -> dict[str, str]:
    return {
        "character_string1": mask_account_no(p.account_no),
        "thing2": stock(p.security_name, p.security_code),
        "phrase3": texts.SIDE[p.side],
        "character_string4": f"{price(p.price)}x{p.quantity}",
        "time5": when(p.filled_at),
    }


def _order_status(p: OrderStatus) -> dict[str, str]:
    status = texts.ORDER_STATUS[p.status]
    return {
        "character_string1": p.order_id,
        "thing2": stock(p.security_name, p.security_code),
        "phrase3": texts.SIDE[p.side],
        "thing4": f"{status} {p.reason}" if p.reason else status,
        "time5": when(p.updated_at),
    }


def _fund_transfer(p: FundTransfer) -> dict[str, str]:
    return {
        "character_string1": mask_account_no(p.account_no),
        "thing2": f"{texts.TRANSFER_DIRECTION[p.direction]} {p.bank_name}",
        "amount3": money(p.amount),
        "phrase4": texts.TRANSFER_STATUS[p.status],
        "time5": when(p.at),
    }


def _ipo_open(p: IpoSubscriptionOpen) -> dict[str, str]:
    return {
        "thing1": stock(p.security_name, p.security_code),
        "amount2": money(p.issue_price),
        "time3": day(p.subscribe_date),
    }


def _ipo_lottery(p: IpoLotteryResult) -> dict[str, str]:
    won = p.won_quantity > 0
    result = texts.LOTTERY_WON.format(quantity=p.won_quantity) if won else texts.LOTTERY_LOST
    return {
        "character_string1": mask_account_no(p.account_no),
        "thing2": stock(p.security_name, p.security_code),
        "thing3": result,
        "amount4": money(p.payment_amount),
        "thing5": day(p.payment_due_date) if p.payment_due_date else texts.NO_PAYMENT,
    }


def _ipo_payment(p: IpoPaymentDue) -> dict[str, str]:
    return {
        "character_string1": mask_account_no(p.account_no),
        "thing2": stock(p.security_name, p.security_code),
        "amount3": money(p.amount),
        "time4": when(p.due_at),
        "thing5": texts.PAYMENT_NOTE,
    }


def _ipo_listing(p: IpoListing) -> dict[str, str]:
    return {
        "thing1": stock(p.security_name, p.security_code),
        "time2": day(p.listing_date),
        "thing3": texts.LISTING_NOTE.format(price=price(p.issue_price)),
    }


def _dividend(p: Dividend) -> dict[str, str]:
    return {
        "thing1": stock(p.security_name, p.security_code),
        "thing2": texts.DIVIDEND_PLAN.format(cash=price(p.cash_per_10_shares)),
        "time3": day(p.ex_date),
        "time4": day(p.pay_date),
    }


def _watch_price(p: WatchlistPrice) -> dict[str, str]:
    return {
        "thing1": stock(p.security_name, p.security_code),
        "character_string2": price(p.price),
        "thing3": f"{texts.DIRECTION[p.direction]}{price(p.threshold)}",
        "time4": when(p.at),
    }


def _watch_percent(p: WatchlistPercent) -> dict[str, str]:
    return {
        "thing1": stock(p.security_name, p.security_code),
        "character_string2": price(p.price),
        "thing3": f"{p.change_pct.quantize(Decimal('0.01')):+}%",
        "time4": when(p.at),
    }


def _financial(p: FinancialProduct) -> dict[str, str]:
    return {
        "thing1": p.product_name,
        "phrase2": texts.FINANCIAL_EVENT[p.event],
        "thing3": money(p.amount) if p.amount is not None else texts.NO_AMOUNT,
        "time4": when(p.at),
    }


def _login(p: SecurityLogin) -> dict[str, str]:
    return {
        "thing1": p.device,
        "thing2": p.location or texts.UNKNOWN_LOCATION,
        "time3": when(p.at),
        "thing4": texts.LOGIN_NOTE,
    }


def _margin(p: MarginCall) -> dict[str, str]:
    return {
        "character_string1": mask_account_no(p.account_no),
        "thing2": f"{p.maintenance_ratio.quantize(Decimal('0.01'))}%",
        "amount3": money(p.shortfall),
        "time4": when(p.deadline),
        "thing5": texts.MARGIN_NOTE,
    }


def _announcement(p: Announcement) -> dict[str, str]:
    return {"thing1": p.title, "thing2": p.summary, "time3": when(p.published_at)}


def _broadcast(p: Broadcast) -> dict[str, str]:
    return {"thing1": p.title, "thing2": p.body}


@dataclass(frozen=True, slots=True)
class TemplateSpec:
    alert_type: AlertType
    default_template_id: str
    severity: Severity
    # None: a service notice nobody can switch off (security events, margin calls, announcements).
    category: Category | None
    link_path: str
    fields: Callable[[Any], dict[str, str]]

    @property
    def title(self) -> str:
        return texts.TEMPLATE_TITLES[self.alert_type.value]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(FIELD_KEYS[self.alert_type])

    def content(self) -> str:
        """WeChat's template content (`{{key.DATA}}` placeholders), for seeding simulators."""
        return "\n".join(f"{{{{{key}.DATA}}}}" for key in self.keys)


def _spec(
    t: AlertType,
    severity: Severity,
    category: Category | None,
    link: str,
    fields: Callable[[Any], dict[str, str]],
) -> TemplateSpec:
    return TemplateSpec(t, f"wxb_{t.value}_v1", severity, category, link, fields)


S, C, T = Severity, Category, AlertType
SPECS: Mapping[AlertType, TemplateSpec] = {
    spec.alert_type: spec
    for spec in (
        _spec(T.TRADE_FILL, S.TRANSACTIONAL, C.TRADE, "/h5/account/orders", _trade_fill),
        _spec(T.ORDER_STATUS, S.TRANSACTIONAL, C.TRADE, "/h5/account/orders", _order_status),
        _spec(T.FUND_TRANSFER, S.TRANSACTIONAL, C.TRADE, "/h5/account/funds", _fund_transfer),
        _spec(T.IPO_SUBSCRIPTION_OPEN, S.MARKET, C.IPO, "/h5/account/ipo", _ipo_open),
        _spec(T.IPO_LOTTERY_RESULT, S.TRANSACTIONAL, C.IPO, "/h5/account/ipo", _ipo_lottery),
        _spec(T.IPO_PAYMENT_DUE, S.TRANSACTIONAL, C.IPO, "/h5/account/ipo", _ipo_payment),
        _spec(T.IPO_LISTING, S.MARKET, C.IPO, "/h5/account/ipo", _ipo_listing),
        _spec(T.DIVIDEND, S.TRANSACTIONAL, C.TRADE, "/h5/account/positions", _dividend),
        _spec(T.WATCHLIST_PRICE, S.MARKET, C.WATCHLIST, "/h5/watchlist", _watch_price),
        _spec(T.WATCHLIST_PERCENT, S.MARKET, C.WATCHLIST, "/h5/watchlist", _watch_percent),
        _spec(T.FINANCIAL_PRODUCT, S.TRANSACTIONAL, C.FINANCIAL, "/h5/account/wealth", _financial),
        _spec(T.SECURITY_LOGIN, S.CRITICAL, None, "/h5/account/security", _login),
        _spec(T.MARGIN_CALL, S.CRITICAL, None, "/h5/account/margin", _margin),
        _spec(T.ANNOUNCEMENT, S.TRANSACTIONAL, None, "/h5/notices", _announcement),
        _spec(T.BROADCAST, S.MARKETING, C.MARKETING, "/h5/notices", _broadcast),
    )
}

FIELD_KEYS: Mapping[AlertType, tuple[str, ...]] = {
    T.TRADE_FILL: ("character_string1", "thing2", "phrase3", "character_string4", "time5"),
    T.ORDER_STATUS: ("character_string1", "thing2", "phrase3", "thing4", "time5"),
    T.FUND_TRANSFER: ("character_string1", "thing2", "amount3", "phrase4", "time5"),
    T.IPO_SUBSCRIPTION_OPEN: ("thing1", "amount2", "time3"),
    T.IPO_LOTTERY_RESULT: ("character_string1", "thing2", "thing3", "amount4", "thing5"),
    T.IPO_PAYMENT_DUE: ("character_string1", "thing2", "amount3", "time4", "thing5"),
    T.IPO_LISTING: ("thing1", "time2", "thing3"),
    T.DIVIDEND: ("thing1", "thing2", "time3", "time4"),
    T.WATCHLIST_PRICE: ("thing1", "character_string2", "thing3", "time4"),
    T.WATCHLIST_PERCENT: ("thing1", "character_string2", "thing3", "time4"),
    T.FINANCIAL_PRODUCT: ("thing1", "phrase2", "thing3", "time4"),
    T.SECURITY_LOGIN: ("thing1", "thing2", "time3", "thing4"),
    T.MARGIN_CALL: ("character_string1", "thing2", "amount3", "time4", "thing5"),
    T.ANNOUNCEMENT: ("thing1", "thing2", "time3"),
    T.BROADCAST: ("thing1", "thing2"),
}


@dataclass(frozen=True, slots=True)
class RenderedTemplate:
    template_id: str
    data: dict[str, str]
    url: str
    severity: Severity
    category: Category | None


def render(
    alert_type: AlertType,
    payload: Any,
    *,
    base_url: str,
    url: str | None = None,
    template_ids: Mapping[str, str] | None = None,
) -> RenderedTemplate:
    """Template id, truncated data and link for one alert (pure: tests call it with hypothesis)."""
    spec = SPECS[alert_type]
    template_id = (template_ids or {}).get(alert_type.value) or spec.default_template_id
    data = {key: truncate_field(value) for key, value in spec.fields(payload).items()}
    link = url or f"{base_url.rstrip('/')}{spec.link_path}"
    return RenderedTemplate(template_id, data, link, spec.severity, spec.category)
