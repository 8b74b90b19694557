# ruff: noqa: S106 - published sandbox credentials of made-up customers, not secrets
"""Deterministic demo customers shared by the in-memory fake and the sandbox counter.

Credentials (docs/brokerage.md lists them for newcomers):

| person | account_no   | type   | password | phone       | story                              |
|--------|--------------|--------|----------|-------------|------------------------------------|
| 张伟   | 310000101001 | cash   | 135246   | 13800000001 | rich portfolio, gains and a loss   |
| 张伟   | 310000101002 | margin | 135246   | 13800000001 | financing + lending debt           |
| 李娜   | 310000202001 | cash   | 246810   | 13800000002 | IPO win awaiting payment (T+2 16:00)|
| 王芳   | 310000303001 | cash   | 112233   | 13800000003 | brand-new empty account            |
| 刘洋   | 310000404001 | cash   | 778899   | 13800000004 | locked (too many wrong passwords)  |

Everything dated is relative to "now" (Beijing), so today's orders are always today's and the IPO
payment is always still due: figures depend only on the date, never on randomness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from app.brokerage.gateway import (
    AccountStatus,
    AccountType,
    Assets,
    BrokerageAccount,
    FundFlow,
    FundFlowKind,
    HoldingPnl,
    IpoStatus,
    IpoSubscription,
    Liabilities,
    Market,
    Order,
    OrderSide,
    OrderStatus,
    PersonalInfo,
    Position,
)
from app.brokerage.trading_calendar import IPO_PAYMENT_CUTOFF, TradingCalendar
from app.core.time import BEIJING

CENT = Decimal("0.01")
RATIO = Decimal("0.000001")
FEE = Decimal("5.00")  # flat commission per fill, keeps the arithmetic readable


def money(value: Decimal | str | int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def ratio(numerator: Decimal, denominator: Decimal) -> Decimal:
    if denominator == 0:
        return Decimal("0.000000")
    return (numerator / denominator).quantize(RATIO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class HoldingSpec:
    code: str
    name: str
    market: Market
    quantity: int
    cost: str
    last: str
    previous_close: str
    bought_today: int = 0


@dataclass(frozen=True)
class OrderSpec:
    at: str  # HH:MM:SS Beijing, today
    code: str
    name: str
    market: Market
    side: OrderSide
    status: OrderStatus
    price: str
    quantity: int
    filled: int


@dataclass(frozen=True)
class FlowSpec:
    at: str
    kind: FundFlowKind
    description: str
    amount: str


@dataclass(frozen=True)
class IpoSpec:
    code: str
    name: str
    market: Market
    offset: int  # application day, in trading days relative to the payment day of the open win
    price: str
    applied: int
    status: IpoStatus
    won: int = 0


@dataclass(frozen=True)
class MarginSpec:
    financing_debt: str
    lending_code: str
    lending_quantity: int
    lending_price: str
    interest: str
    credit_limit: str


@dataclass(frozen=True)
class AccountSpec:
    account_id: str
    account_no: str
    password: str
    account_type: AccountType
    opened_on: str
    closing_cash: str  # cash after today's flows
    is_primary: bool = False
    holdings: Sequence[HoldingSpec] = ()
    orders: Sequence[OrderSpec] = ()
    flows: Sequence[FlowSpec] = ()
    ipos: Sequence[IpoSpec] = ()
    margin: MarginSpec | None = None
    locked: bool = False  # starts locked, as if after too many wrong passwords


@dataclass(frozen=True)
class CustomerSpec:
    client_id: str
    name: str
    phone: str
    id_no_masked: str
    risk_level: str
    branch_name: str
    opened_on: str
    accounts: Sequence[AccountSpec] = field(default_factory=tuple)


SH, SZ = Market.SH, Market.SZ
BUY, SELL = OrderSide.BUY, OrderSide.SELL

CUSTOMERS: tuple[CustomerSpec, ...] = (
    CustomerSpec(
        client_id="C8F2A19E",
        name="张伟",
        phone="13800000001",
        id_no_masked="110***********21",
        risk_level="C4",
        branch_name="北京金融街证券营业部",
        opened_on="2016-03-18",
        accounts=(
            AccountSpec(
                account_id="A5D17C3B",
                account_no="310000101001",
                password="135246",
                account_type=AccountType.CASH,
                opened_on="2016-03-18",
                closing_cash="152380.45",
                is_primary=True,
                holdings=(
                    HoldingSpec("600519", "贵州茅台", SH, 100, "1580.00", "1612.50", "1598.00"),
                    HoldingSpec("300750", "宁德时代", SZ, 300, "188.60", "245.30", "248.10"),
                    HoldingSpec("000001", "平安银行", SZ, 5000, "12.80", "11.42", "11.50", 1000),
                    HoldingSpec("510300", "沪深300ETF", SH, 10000, "3.912", "4.015", "4.002"),
                ),
                orders=(
                    OrderSpec(
                        "09:31:05",
                        "000001",
                        "平安银行",
                        SZ,
                        BUY,
                        OrderStatus.FILLED,
                        "11.40",
                        1000,
                        1000,
                    ),
                    OrderSpec(
                        "10:02:47",
                        "510300",
                        "沪深300ETF",
                        SH,
                        SELL,
                        OrderStatus.FILLED,
                        "4.020",
                        2000,
                        2000,
                    ),
                    OrderSpec(
                        "13:15:30",
                        "300750",
                        "宁德时代",
                        SZ,
                        BUY,
                        OrderStatus.REPORTED,
                        "240.00",
                        100,
                        0,
                    ),
                    OrderSpec(
                        "14:02:11",
                        "600519",
                        "贵州茅台",
                        SH,
                        BUY,
                        OrderStatus.CANCELLED,
                        "1590.00",
                        100,
                        0,
                    ),
                ),
                flows=(
                    FlowSpec("09:05:12", FundFlowKind.DEPOSIT, "银证转入", "50000.00"),
                    FlowSpec("09:31:05", FundFlowKind.BUY, "证券买入 平安银行", "-11400.00"),
                    FlowSpec("09:31:05", FundFlowKind.FEE, "交易佣金", "-5.00"),
                    FlowSpec("10:02:47", FundFlowKind.SELL, "证券卖出 沪深300ETF", "8040.00"),
                    FlowSpec("10:02:47", FundFlowKind.FEE, "交易佣金", "-5.00"),
                ),
            ),
            AccountSpec(
                account_id="A9B04E6F",
                account_no="310000101002",
                password="135246",
                account_type=AccountType.MARGIN,
                opened_on="2019-08-06",
                closing_cash="35000.00",
                holdings=(
                    HoldingSpec("601318", "中国平安", SH, 6000, "46.20", "48.75", "48.10"),
                    HoldingSpec("600036", "招商银行", SH, 8000, "35.10", "34.62", "34.90", 1000),
                ),
                orders=(
                    OrderSpec(
                        "10:30:00",
                        "600036",
                        "招商银行",
                        SH,
                        BUY,
                        OrderStatus.FILLED,
                        "34.60",
                        1000,
                        1000,
                    ),
                ),
                flows=(
                    FlowSpec("10:30:00", FundFlowKind.BUY, "融资买入 招商银行", "-34600.00"),
                    FlowSpec("10:30:00", FundFlowKind.FEE, "交易佣金", "-5.00"),
                ),
                margin=MarginSpec(
                    financing_debt="300000.00",
                    lending_code="601988",
                    lending_quantity=2000,
                    lending_price="5.20",
                    interest="1862.47",
                    credit_limit="500000.00",
                ),
            ),
        ),
    ),
    CustomerSpec(
        client_id="C3E7B05D",
        name="李娜",
        phone="13800000002",
        id_no_masked="310***********48",
        risk_level="C3",
        branch_name="上海陆家嘴证券营业部",
        opened_on="2020-11-02",
        accounts=(
            AccountSpec(
                account_id="A2C68F1E",
                account_no="310000202001",
                password="246810",
                account_type=AccountType.CASH,
                opened_on="2020-11-02",
                closing_cash="30000.00",
                is_primary=True,
                holdings=(
                    HoldingSpec("601988", "中国银行", SH, 20000, "4.10", "5.20", "5.18"),
                    HoldingSpec("002594", "比亚迪", SZ, 200, "268.00", "255.40", "251.00"),
                ),
                flows=(FlowSpec("09:10:41", FundFlowKind.DEPOSIT, "银证转入", "10000.00"),),
                ipos=(
                    IpoSpec("301618", "星河智能", SZ, -2, "28.88", 5000, IpoStatus.WON, 500),
                    IpoSpec("603291", "海川股份", SH, -1, "16.50", 10000, IpoStatus.APPLIED),
                    IpoSpec("688721", "华芯微电", SH, -6, "45.60", 3500, IpoStatus.LOST),
                    IpoSpec("001389", "润丰新材", SZ, -12, "12.36", 10000, IpoStatus.PAID, 500),
                ),
            ),
        ),
    ),
    CustomerSpec(
        client_id="C6A91D4F",
        name="王芳",
        phone="13800000003",
        id_no_masked="440***********6X",
        risk_level="C2",
        branch_name="深圳福田证券营业部",
        opened_on="2026-01-02",
        accounts=(
            AccountSpec(
                account_id="A7E23B9C",
                account_no="310000303001",
                password="112233",
                account_type=AccountType.CASH,
                opened_on="2026-01-02",
                closing_cash="0.00",
                is_primary=True,
            ),
        ),
    ),
    CustomerSpec(
        client_id="C1F58E2A",
        name="刘洋",
        phone="13800000004",
        id_no_masked="510***********17",
        risk_level="C3",
        branch_name="成都天府证券营业部",
        opened_on="2018-05-21",
        accounts=(
            AccountSpec(
                account_id="A4B7D0E3",
                account_no="310000404001",
                password="778899",
                account_type=AccountType.CASH,
                opened_on="2018-05-21",
                closing_cash="8800.00",
                is_primary=True,
                locked=True,
            ),
        ),
    ),
)


@dataclass(frozen=True)
class AccountSnapshot:
    """Everything the counter answers about one account at one moment."""

    account: BrokerageAccount
    assets: Assets
    liabilities: Liabilities
    positions: tuple[Position, ...]
    holding_pnl: HoldingPnl
    orders: tuple[Order, ...]
    fund_flows: tuple[FundFlow, ...]
    ipo_subscriptions: tuple[IpoSubscription, ...]


def find_account(account_no: str) -> tuple[CustomerSpec, AccountSpec] | None:
    for customer in CUSTOMERS:
        for account in customer.accounts:
            if account.account_no == account_no:
                return customer, account
    return None


def find_customer(client_id: str) -> CustomerSpec | None:
    return next((c for c in CUSTOMERS if c.client_id == client_id), None)


def to_account(spec: AccountSpec) -> BrokerageAccount:
    return BrokerageAccount(
        account_id=spec.account_id,
        account_no=spec.account_no,
        account_type=spec.account_type,
        status=AccountStatus.ACTIVE,
        opened_on=date.fromisoformat(spec.opened_on),
        is_primary=spec.is_primary,
    )


def personal_info(customer: CustomerSpec, today: date) -> PersonalInfo:
    assessed = today - timedelta(days=200)
    return PersonalInfo(
        client_id=customer.client_id,
        name=customer.name,
        phone_masked=f"{customer.phone[:3]}****{customer.phone[-4:]}",
        id_no_masked=customer.id_no_masked,
        risk_level=customer.risk_level,
        risk_assessed_on=assessed,
        risk_expires_on=assessed + timedelta(days=730),
        branch_name=customer.branch_name,
        opened_on=date.fromisoformat(customer.opened_on),
    )


def _position(spec: HoldingSpec) -> Position:
    cost, last, prev = Decimal(spec.cost), Decimal(spec.last), Decimal(spec.previous_close)
    cost_value = cost * spec.quantity
    market_value = money(last * spec.quantity)
    return Position(
        security_code=spec.code,
        security_name=spec.name,
        market=spec.market,
        quantity=spec.quantity,
        available_quantity=spec.quantity - spec.bought_today,
        cost_price=cost,
        last_price=last,
        previous_close=prev,
        market_value=market_value,
        pnl_amount=money(market_value - cost_value),
        pnl_ratio=ratio(market_value - cost_value, cost_value),
        today_pnl=money((last - prev) * spec.quantity),
    )


def _at(day: date, hhmmss: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmmss), tzinfo=BEIJING)


def _order(spec: OrderSpec, day: date, serial: int) -> Order:
    price = Decimal(spec.price)
    return Order(
        order_no=f"{day:%Y%m%d}{serial:06d}",
        security_code=spec.code,
        security_name=spec.name,
        market=spec.market,
        side=spec.side,
        status=spec.status,
        price=price,
        quantity=spec.quantity,
        filled_quantity=spec.filled,
        filled_amount=money(price * spec.filled),
        placed_at=_at(day, spec.at),
    )


def _flows(spec: AccountSpec, day: date) -> tuple[FundFlow, ...]:
    total = sum((Decimal(f.amount) for f in spec.flows), Decimal(0))
    balance = Decimal(spec.closing_cash) - total
    flows = []
    for serial, flow in enumerate(spec.flows, start=1):
        balance += Decimal(flow.amount)
        flows.append(
            FundFlow(
                serial_no=f"F{day:%Y%m%d}{serial:04d}",
                occurred_at=_at(day, flow.at),
                kind=flow.kind,
                description=flow.description,
                amount=money(flow.amount),
                balance_after=money(balance),
            )
        )
    return tuple(flows)


def payment_day(now: datetime, calendar: TradingCalendar) -> date:
    """The first trading day whose 16:00 deadline is still ahead: the open IPO win pays then."""
    local = now.astimezone(BEIJING)
    day = calendar.next_or_same(local.date())
    if datetime.combine(day, IPO_PAYMENT_CUTOFF, tzinfo=BEIJING) <= local:
        day = calendar.shift(day, 1)
    return day


def _ipo(spec: IpoSpec, due_day: date, calendar: TradingCalendar) -> IpoSubscription:
    applied_on = calendar.shift(due_day, spec.offset)
    price = Decimal(spec.price)
    return IpoSubscription(
        security_code=spec.code,
        security_name=spec.name,
        market=spec.market,
        applied_on=applied_on,
        price=price,
        applied_quantity=spec.applied,
        status=spec.status,
        won_quantity=spec.won,
        payment_amount=money(price * spec.won),
        payment_due_at=calendar.ipo_payment_due_at(applied_on),
    )


def _liabilities(spec: AccountSpec, cash: Decimal, mv: Decimal, now: datetime) -> Liabilities:
    zero = money(0)
    m = spec.margin
    if m is None:
        return Liabilities(
            account_id=spec.account_id,
            is_margin=False,
            financing_debt=zero,
            securities_lending_debt=zero,
            interest_accrued=zero,
            total_debt=zero,
            credit_limit=zero,
            available_credit=zero,
            maintenance_ratio=None,
            as_of=now,
        )
    financing = money(m.financing_debt)
    lending = money(Decimal(m.lending_price) * m.lending_quantity)
    total = financing + lending + money(m.interest)
    return Liabilities(
        account_id=spec.account_id,
        is_margin=True,
        financing_debt=financing,
        securities_lending_debt=lending,
        interest_accrued=money(m.interest),
        total_debt=total,
        credit_limit=money(m.credit_limit),
        available_credit=money(m.credit_limit) - financing - lending,
        maintenance_ratio=ratio(cash + mv, total),
        as_of=now,
    )


def snapshot(spec: AccountSpec, now: datetime, calendar: TradingCalendar) -> AccountSnapshot:
    """The account as the counter sees it at `now` (orders and flows only on trading days)."""
    day = now.astimezone(BEIJING).date()
    trading = calendar.is_trading_day(day)
    positions = tuple(
        sorted((_position(h) for h in spec.holdings), key=lambda p: p.market_value, reverse=True)
    )
    orders = tuple(_order(o, day, i) for i, o in enumerate(spec.orders, 1)) if trading else ()
    flows = _flows(spec, day) if trading else ()
    cash = money(spec.closing_cash)
    mv = sum((p.market_value for p in positions), money(0))
    open_statuses = {OrderStatus.REPORTED, OrderStatus.PARTIALLY_FILLED}
    frozen = sum(
        (
            money(o.price * (o.quantity - o.filled_quantity))
            for o in orders
            if o.side is OrderSide.BUY and o.status in open_statuses
        ),
        money(0),
    )
    sold_today = sum((f.amount for f in flows if f.kind is FundFlowKind.SELL), money(0))
    available = cash - frozen
    cost = sum((p.cost_price * p.quantity for p in positions), Decimal(0))
    due_day = payment_day(now, calendar)
    return AccountSnapshot(
        account=to_account(spec),
        assets=Assets(
            account_id=spec.account_id,
            total_assets=cash + mv,
            cash_balance=cash,
            market_value=mv,
            available=available,
            withdrawable=max(available - sold_today, money(0)),
            frozen=frozen,
            as_of=now,
        ),
        liabilities=_liabilities(spec, cash, mv, now),
        positions=positions,
        holding_pnl=HoldingPnl(
            account_id=spec.account_id,
            positions_count=len(positions),
            total_market_value=mv,
            total_cost=money(cost),
            pnl_amount=money(mv - cost),
            pnl_ratio=ratio(mv - cost, cost),
            today_pnl=sum((p.today_pnl for p in positions), money(0)),
            as_of=now,
        ),
        orders=orders,
        fund_flows=flows,
        ipo_subscriptions=tuple(
            sorted(
                (_ipo(i, due_day, calendar) for i in spec.ipos),
                key=lambda s: s.applied_on,
                reverse=True,
            )
        ),
    )
