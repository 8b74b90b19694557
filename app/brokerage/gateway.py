"""The brokerage counter behind a Protocol: domain models and `BrokerageGateway`.

Money is `Decimal` (JSON: decimal strings), security codes are `str` ("000001" keeps its zeros),
datetimes are timezone-aware. The same models are the `data` payloads of the HTTP contract in
docs/brokerage-api.yaml, so the client parses responses straight into them.

Identities: a person at the broker is a *client* (`client_id`); a person has one or more fund
*accounts*. `account_no` is what the fan types (store it masked only); `account_id` is the
counter's opaque reference for one account, the thing a binding stores. Every account read takes
both ids and the counter refuses an `account_id` that is not the client's (`UnknownAccountError`),
so a binding can never be used to read somebody else's account.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.brokerage.trading_calendar import TradingCalendar

SecurityCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
Money = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=4)]
Ratio = Annotated[Decimal, Field(allow_inf_nan=False, max_digits=20, decimal_places=6)]
Quantity = Annotated[int, Field(ge=0, le=10**12)]
ShortText = Annotated[str, Field(max_length=200)]
Id = Annotated[str, Field(min_length=1, max_length=64)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", str_strip_whitespace=True)


class AccountType(StrEnum):
    CASH = "cash"  # 普通账户
    MARGIN = "margin"  # 信用账户 (融资融券)


class AccountStatus(StrEnum):
    ACTIVE = "active"
    FROZEN = "frozen"
    CLOSED = "closed"


class Market(StrEnum):
    SH = "SH"  # Shanghai Stock Exchange
    SZ = "SZ"  # Shenzhen Stock Exchange
    BJ = "BJ"  # Beijing Stock Exchange


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderStatus(StrEnum):
    PENDING = "pending"  # 未报
    REPORTED = "reported"  # 已报
    PARTIALLY_FILLED = "partially_filled"  # 部成
    FILLED = "filled"  # 已成
    PARTIALLY_CANCELLED = "partially_cancelled"  # 部撤
    CANCELLED = "cancelled"  # 已撤
    REJECTED = "rejected"  # 废单


class FundFlowKind(StrEnum):
    DEPOSIT = "deposit"  # 银证转入
    WITHDRAWAL = "withdrawal"  # 银证转出
    BUY = "buy"  # 证券买入
    SELL = "sell"  # 证券卖出
    FEE = "fee"
    DIVIDEND = "dividend"
    INTEREST = "interest"
    IPO_PAYMENT = "ipo_payment"  # 新股缴款
    OTHER = "other"


class IpoStatus(StrEnum):
    APPLIED = "applied"  # 已申购, lottery pending
    WON = "won"  # 中签, payment due
    LOST = "lost"  # 未中签
    PAID = "paid"  # 已缴款
    FORFEITED = "forfeited"  # 放弃认购 (not paid by the deadline)


class PublicKey(_Model):
    """The counter's RSA public key: the H5 page encrypts the password with it (RSA-OAEP-256)."""

    key_id: Id
    algorithm: str = "RSA-OAEP-256"
    pem: Annotated[str, Field(max_length=4096)]


class SmsChallenge(_Model):
    """The counter sent a one-time code to the phone on record of an account."""

    phone_masked: ShortText
    expires_at: AwareDatetime
    resend_after_s: Annotated[int, Field(ge=0)]


class BrokerageAccount(_Model):
    account_id: Id
    account_no: Annotated[str, Field(pattern=r"^[0-9]{6,20}$")]
    account_type: AccountType
    status: AccountStatus
    opened_on: date
    is_primary: bool = False


class Holder(_Model):
    """The person behind verified credentials. `phone` is the full number: never store it."""

    client_id: Id
    name: ShortText
    phone: ShortText
    verified_account: BrokerageAccount
    accounts: tuple[BrokerageAccount, ...]


class PersonalInfo(_Model):
    client_id: Id
    name: ShortText
    phone_masked: ShortText
    id_no_masked: ShortText
    risk_level: Annotated[str, Field(pattern=r"^C[1-5]$")]  # 投资者风险等级 C1..C5
    risk_assessed_on: date
    risk_expires_on: date
    branch_name: ShortText
    opened_on: date
    is_professional_investor: bool = False


class Assets(_Model):
    account_id: Id
    currency: str = "CNY"
    total_assets: Money
    cash_balance: Money
    market_value: Money
    available: Money  # usable for buying today
    withdrawable: Money  # transferable to the bank today (sell proceeds are T+1)
    frozen: Money  # held by open orders and pending IPO payments
    as_of: AwareDatetime


class Liabilities(_Model):
    """Margin (融资融券) debt. A cash account answers `is_margin=False` and zeros."""

    account_id: Id
    is_margin: bool
    financing_debt: Money  # 融资负债
    securities_lending_debt: Money  # 融券负债 (market value of borrowed shares)
    interest_accrued: Money  # 应付利息
    total_debt: Money
    credit_limit: Money
    available_credit: Money
    #: 维持担保比例 = assets / debt; None when there is no debt.
    maintenance_ratio: Ratio | None
    as_of: AwareDatetime


class Position(_Model):
    security_code: SecurityCode
    security_name: ShortText
    market: Market
    quantity: Quantity
    available_quantity: Quantity  # shares bought today are sellable T+1
    cost_price: Money
    last_price: Money
    previous_close: Money
    market_value: Money
    pnl_amount: Money  # 持仓盈亏
    pnl_ratio: Ratio  # 0.1234 = +12.34 %
    today_pnl: Money  # 当日盈亏


class HoldingPnl(_Model):
    """Summary over all positions of one account."""

    account_id: Id
    positions_count: Quantity
    total_market_value: Money
    total_cost: Money
    pnl_amount: Money
    pnl_ratio: Ratio
    today_pnl: Money
    as_of: AwareDatetime


class Order(_Model):
    order_no: Id
    security_code: SecurityCode
    security_name: ShortText
    market: Market
    side: OrderSide
    status: OrderStatus
    price: Money
    quantity: Quantity
    filled_quantity: Quantity
    filled_amount: Money
    placed_at: AwareDatetime


class FundFlow(_Model):
    serial_no: Id
    occurred_at: AwareDatetime
    kind: FundFlowKind
    description: ShortText
    amount: Money  # signed: money in > 0, money out < 0
    balance_after: Money


class IpoSubscription(_Model):
    security_code: SecurityCode
    security_name: ShortText
    market: Market
    applied_on: date  # T
    price: Money
    applied_quantity: Quantity
    status: IpoStatus
    won_quantity: Quantity = 0
    payment_amount: Money = Decimal(0)
    #: 16:00 Beijing on T+2 (trading days); set for every application.
    payment_due_at: AwareDatetime | None = None


class CalendarRange(_Model):
    """The trading calendar over [start, end] as the contract carries it."""

    start: date
    end: date
    trading_days: tuple[date, ...]

    def to_calendar(self) -> TradingCalendar:
        return TradingCalendar(start=self.start, end=self.end, trading_days=self.trading_days)


class BrokerageGateway(Protocol):
    """The broker's counter system. Every method may raise `MaintenanceError`,
    `UnavailableError` (down, timeout, malformed answer) or `RateLimitedError`; the others are
    listed per method. All errors derive from `app.brokerage.errors.BrokerageError`.

    Binding flow: `get_public_key` (the page encrypts the password in the browser) →
    `send_sms_code(account_no)` (the counter texts the phone on record) →
    `verify_credentials(account_no, encrypted_password, sms_code)` → `Holder`; store
    `holder.client_id` and `holder.verified_account.account_id` (the gateway's reference) with a
    masked account number. Reads then take `client_id` and `account_id` from the fan's binding.
    """

    async def get_public_key(self) -> PublicKey:
        """The RSA public key (PEM, SPKI) for RSA-OAEP with SHA-256 (WebCrypto "RSA-OAEP")."""
        ...

    async def send_sms_code(self, *, account_no: str) -> SmsChallenge:
        """Text a one-time code to the account's phone on record.

        Raises UnknownAccountError, AccountLockedError, RateLimitedError (resend interval).
        """
        ...

    async def verify_credentials(
        self, *, account_no: str, encrypted_password: str, sms_code: str
    ) -> Holder:
        """Check the password (base64 RSA-OAEP-256 ciphertext) and the SMS code; consumes the code.

        Raises UnknownAccountError, InvalidCredentialsError (`attempts_left`),
        PasswordDecryptError, AccountLockedError (`locked_until`), InvalidSmsCodeError.
        """
        ...

    async def get_personal_info(self, *, client_id: str) -> PersonalInfo:
        """Name, masked phone and id number, risk level, branch. Raises UnknownAccountError."""
        ...

    async def list_accounts(self, *, client_id: str) -> list[BrokerageAccount]:
        """Every fund account of the client. Raises UnknownAccountError."""
        ...

    async def get_assets(self, *, client_id: str, account_id: str) -> Assets:
        """Balances of one account. Raises UnknownAccountError (also: not the client's)."""
        ...

    async def get_liabilities(self, *, client_id: str, account_id: str) -> Liabilities:
        """Margin debt and maintenance ratio (zeros for a cash account)."""
        ...

    async def get_positions(self, *, client_id: str, account_id: str) -> list[Position]:
        """Holdings with cost, last price and P&L, largest market value first."""
        ...

    async def get_holding_pnl(self, *, client_id: str, account_id: str) -> HoldingPnl:
        """P&L summary over all positions."""
        ...

    async def get_today_orders(self, *, client_id: str, account_id: str) -> list[Order]:
        """Today's orders (Beijing trading day), oldest first; empty on a non-trading day."""
        ...

    async def get_today_fund_flows(self, *, client_id: str, account_id: str) -> list[FundFlow]:
        """Today's money movements, oldest first."""
        ...

    async def get_ipo_subscriptions(
        self, *, client_id: str, account_id: str
    ) -> list[IpoSubscription]:
        """Recent IPO applications with lottery results and payment deadlines, newest first."""
        ...

    async def get_trading_calendar(self, *, start: date, end: date) -> TradingCalendar:
        """Trading days in [start, end] (at most 400 days). Raises InvalidRequestError."""
        ...
