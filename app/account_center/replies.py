"""Passive replies for the eight queries: a text, or a news card linking to the H5 page."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from app.account_center import errors, texts
from app.account_center import formatting as fmt
from app.account_center.constants import H5_PREFIX, NEWS_PREVIEW_ROWS, PAGE_OF, QueryKind
from app.account_center.service import OverviewResult, QueryResult
from app.accounts import service as accounts_service
from app.brokerage.gateway import (
    Assets,
    FundFlow,
    HoldingPnl,
    IpoStatus,
    IpoSubscription,
    Liabilities,
    Order,
    PersonalInfo,
    Position,
)
from app.core.config import Settings
from app.core.errors import AppError
from app.core.security import mask_name
from app.core.time import BEIJING
from app.wechat.replies import Article, NewsReply, Reply, TextReply

MARGIN_WARNING_RATIO = Decimal("1.5")  # 警戒线 150 %


def _footer(result: QueryResult) -> str:
    lines = [texts.ACCOUNT_LINE.format(account=accounts_service.describe_binding(result.binding))]
    lines.append(texts.UPDATED_AT.format(time=fmt.hhmm(result.fetched_at)))
    return "\n".join(lines)


def _text(result: QueryResult, body: str) -> TextReply:
    title = texts.TITLES[result.kind]
    return TextReply(f"【{title}】\n{body}\n\n{_footer(result)}")


def _personal_info(result: QueryResult, info: PersonalInfo) -> str:
    body = texts.PERSONAL_INFO.format(
        name=mask_name(info.name),
        phone=info.phone_masked,
        id_no=info.id_no_masked,
        risk=info.risk_level,
        risk_name=texts.RISK_NAMES.get(info.risk_level, ""),
        risk_expires=fmt.day(info.risk_expires_on),
        branch=info.branch_name,
        opened=fmt.day(info.opened_on),
    )
    if info.is_professional_investor:
        body += texts.PROFESSIONAL
    if info.risk_expires_on < result.fetched_at.astimezone(BEIJING).date():
        body += texts.RISK_EXPIRED
    return body


def _assets(a: Assets) -> str:
    return texts.ASSETS.format(
        total=fmt.money(a.total_assets),
        market_value=fmt.money(a.market_value),
        cash=fmt.money(a.cash_balance),
        available=fmt.money(a.available),
        withdrawable=fmt.money(a.withdrawable),
        frozen=fmt.money(a.frozen),
    )


def _liabilities(d: Liabilities) -> str:
    if not d.is_margin:
        return texts.LIABILITIES_CASH
    ratio = (
        texts.RATIO_NONE
        if d.maintenance_ratio is None
        else fmt.percent(d.maintenance_ratio, signed=False)
    )
    body = texts.LIABILITIES.format(
        total=fmt.money(d.total_debt),
        financing=fmt.money(d.financing_debt),
        lending=fmt.money(d.securities_lending_debt),
        interest=fmt.money(d.interest_accrued),
        limit=fmt.money(d.credit_limit),
        available=fmt.money(d.available_credit),
        ratio=ratio,
    )
    if d.maintenance_ratio is not None and d.maintenance_ratio < MARGIN_WARNING_RATIO:
        body += texts.RATIO_WARNING.format(line=fmt.percent(MARGIN_WARNING_RATIO, signed=False))
    return body


def _pnl(p: HoldingPnl) -> str:
    if p.positions_count == 0:
        return texts.PNL_EMPTY
    return texts.PNL.format(
        market_value=fmt.money(p.total_market_value),
        cost=fmt.money(p.total_cost),
        pnl=fmt.pnl(p.pnl_amount),
        ratio=fmt.percent(p.pnl_ratio),
        today=fmt.pnl(p.today_pnl),
        count=p.positions_count,
    )


def _card(result: QueryResult, settings: Settings, title: str, rows: list[str]) -> NewsReply:
    url = f"{settings.base_url}{H5_PREFIX}/{PAGE_OF[result.kind]}"
    preview = rows[:NEWS_PREVIEW_ROWS]
    if len(rows) > NEWS_PREVIEW_ROWS:
        preview.append("……")
    description = "\n".join(
        [*preview, texts.UPDATED_AT.format(time=fmt.hhmm(result.fetched_at)), texts.TAP_FOR_DETAIL]
    )
    return NewsReply([Article(title=title, description=description, url=url)])


def _positions(result: QueryResult, rows: list[Position], settings: Settings) -> Reply:
    if not rows:
        return _text(result, texts.POSITIONS_EMPTY)
    total = sum((p.market_value for p in rows), Decimal(0))
    title = texts.POSITIONS_TITLE.format(count=len(rows), market_value=fmt.money(total))
    lines = [
        texts.POSITION_ROW.format(
            name=p.security_name,
            code=p.security_code,
            pnl=fmt.pnl(p.pnl_amount),
            ratio=fmt.percent(p.pnl_ratio),
        )
        for p in rows
    ]
    return _card(result, settings, title, lines)


def _orders(result: QueryResult, rows: list[Order], settings: Settings) -> Reply:
    if not rows:
        return _text(result, texts.ORDERS_EMPTY)
    lines = [
        texts.ORDER_ROW.format(
            time=fmt.hhmm(o.placed_at),
            side=texts.SIDES[o.side],
            name=o.security_name,
            quantity=fmt.quantity(o.quantity),
            price=fmt.number(o.price),
            status=texts.ORDER_STATUSES[o.status],
        )
        for o in rows
    ]
    return _card(result, settings, texts.ORDERS_TITLE.format(count=len(rows)), lines)


def _fund_flows(result: QueryResult, rows: list[FundFlow], settings: Settings) -> Reply:
    if not rows:
        return _text(result, texts.FUND_FLOWS_EMPTY)
    lines = [
        texts.FUND_FLOW_ROW.format(
            time=fmt.hhmm(f.occurred_at),
            description=f.description,
            amount=fmt.signed_money(f.amount),
        )
        for f in rows
    ]
    return _card(result, settings, texts.FUND_FLOWS_TITLE.format(count=len(rows)), lines)


def _ipo(result: QueryResult, rows: list[IpoSubscription], settings: Settings) -> Reply:
    if not rows:
        return _text(result, texts.IPO_EMPTY)
    won = [s for s in rows if s.status is IpoStatus.WON]
    lines = [ipo_won_line(s) for s in won]
    lines += [
        texts.IPO_ROW.format(
            name=s.security_name, code=s.security_code, status=texts.IPO_STATUSES[s.status]
        )
        for s in rows
        if s.status is not IpoStatus.WON
    ]
    title = texts.IPO_TITLE_WON if won else texts.IPO_TITLE.format(count=len(rows))
    return _card(result, settings, title, lines)


def ipo_won_line(s: IpoSubscription) -> str:
    due = fmt.month_day_time(s.payment_due_at) if s.payment_due_at else ""
    return texts.IPO_WON_ROW.format(
        name=s.security_name,
        won=fmt.quantity(s.won_quantity),
        amount=fmt.money(s.payment_amount),
        due=due,
    )


TEXT_BODIES: dict[QueryKind, Callable[[QueryResult], str]] = {
    QueryKind.PERSONAL_INFO: lambda r: _personal_info(r, r.data),
    QueryKind.ASSETS: lambda r: _assets(r.data),
    QueryKind.LIABILITIES: lambda r: _liabilities(r.data),
    QueryKind.PNL: lambda r: _pnl(r.data),
}
CARDS: dict[QueryKind, Callable[[QueryResult, Settings], Reply]] = {
    QueryKind.POSITIONS: lambda r, s: _positions(r, r.data, s),
    QueryKind.ORDERS: lambda r, s: _orders(r, r.data, s),
    QueryKind.FUND_FLOWS: lambda r, s: _fund_flows(r, r.data, s),
    QueryKind.IPO: lambda r, s: _ipo(r, r.data, s),
}


def query_reply(result: QueryResult, settings: Settings) -> Reply:
    """The passive reply for a successful query."""
    body = TEXT_BODIES.get(result.kind)
    if body is not None:
        return _text(result, body(result))
    return CARDS[result.kind](result, settings)


def overview_reply(result: OverviewResult) -> Reply:
    """Assets, and for a margin account the debt section under it."""
    body = _assets(result.assets.data)
    if result.liabilities is not None:
        title = texts.TITLES[QueryKind.LIABILITIES]
        body += f"\n\n【{title}】\n{_liabilities(result.liabilities.data)}"
    return _text(result.assets, body)


def failure_text(exc: AppError) -> str:
    """A polite explanation for a query that could not be answered (never an error)."""
    if isinstance(exc, errors.CounterMaintenanceError):
        if exc.window_end is not None:
            return texts.MAINTENANCE_UNTIL.format(until=fmt.hhmm(exc.window_end))
        return texts.MAINTENANCE
    if isinstance(exc, errors.AccountGoneError):
        return texts.ACCOUNT_GONE
    return texts.UNAVAILABLE


def failure_reply(exc: AppError, settings: Settings) -> Reply:
    if isinstance(exc, errors.NotBoundError):
        return accounts_service.bind_prompt(settings)
    return TextReply(failure_text(exc))
