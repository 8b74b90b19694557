"""Request and response models of the ingest API: one pydantic model per alert type."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    TypeAdapter,
    model_validator,
)

from app.alerts import texts
from app.alerts.constants import (
    MAX_BATCH,
    MAX_OPENIDS_PER_TARGET,
    MAX_TICKS_PER_REQUEST,
    AlertType,
    Category,
    Severity,
)

SECURITY_CODE = re.compile(r"^[0-9A-Z]{5,6}$")
TOPIC = re.compile(r"^(all|trade|ipo|watchlist|financial|marketing|security:[0-9A-Z]{5,6})$")


def _no_advertising(value: str) -> str:
    """Template messages are service notices only (WeChat rule): refuse promotional wording."""
    found = [word for word in texts.ADVERTISING_WORDS if word in value]
    if found:
        raise ValueError(f"advertising wording is not allowed in template messages: {found[0]}")
    return value


SecurityCode = Annotated[str, Field(pattern=SECURITY_CODE.pattern)]
Name = Annotated[str, Field(min_length=1, max_length=64)]
NoticeText = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_no_advertising)]
Money = Annotated[Decimal, Field(max_digits=18, decimal_places=4, allow_inf_nan=False)]
Price = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4, allow_inf_nan=False)]
Percent = Annotated[Decimal, Field(max_digits=8, decimal_places=4, allow_inf_nan=False)]
AccountNo = Annotated[str, Field(pattern=r"^[0-9]{6,20}$")]
OpenId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- targets ----


class CustomerTarget(Strict):
    kind: Literal["customer"]
    client_id: Annotated[str, Field(min_length=1, max_length=64)]


class TopicTarget(Strict):
    """`all`, a preference category (`ipo`...), or `security:600519` (fans watching it)."""

    kind: Literal["topic"]
    topic: Annotated[str, Field(pattern=TOPIC.pattern)]


class SegmentTarget(Strict):
    kind: Literal["segment"]
    segment: Annotated[str, Field(pattern=r"^[a-z0-9_.-]{1,64}$")]


class OpenidsTarget(Strict):
    kind: Literal["openids"]
    openids: Annotated[list[OpenId], Field(min_length=1, max_length=MAX_OPENIDS_PER_TARGET)]


Target = Annotated[
    CustomerTarget | TopicTarget | SegmentTarget | OpenidsTarget, Field(discriminator="kind")
]


# ---- payloads ----


class TradeFill(Strict):
    account_no: AccountNo
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    security_code: SecurityCode
    security_name: Name
    side: Literal["buy", "sell"]
    price: Price
    quantity: Annotated[int, Field(gt=0)]
    filled_at: AwareDatetime


class OrderStatus(Strict):
    account_no: AccountNo
    order_id: Annotated[str, Field(min_length=1, max_length=64)]
    security_code: SecurityCode
    security_name: Name
    side: Literal["buy", "sell"]
    status: Literal["accepted", "partially_filled", "filled", "cancelled", "rejected"]
    reason: Annotated[str, Field(max_length=100)] | None = None
    updated_at: AwareDatetime


class FundTransfer(Strict):
    account_no: AccountNo
    direction: Literal["in", "out"]
    amount: Annotated[Money, Field(gt=0)]
    bank_name: Name
    status: Literal["success", "processing", "failed"]
    at: AwareDatetime


class IpoSubscriptionOpen(Strict):
    security_code: SecurityCode
    security_name: Name
    issue_price: Price
    subscribe_date: date


class IpoLotteryResult(Strict):
    account_no: AccountNo
    security_code: SecurityCode
    security_name: Name
    won_quantity: Annotated[int, Field(ge=0)]
    payment_amount: Annotated[Money, Field(ge=0)] = Decimal(0)
    payment_due_date: date | None = None

    @model_validator(mode="after")
    def won_needs_payment_date(self) -> IpoLotteryResult:
        if self.won_quantity > 0 and self.payment_due_date is None:
            raise ValueError("payment_due_date is required when won_quantity > 0")
        return self


class IpoPaymentDue(Strict):
    account_no: AccountNo
    security_code: SecurityCode
    security_name: Name
    amount: Annotated[Money, Field(gt=0)]
    due_at: AwareDatetime


class IpoListing(Strict):
    security_code: SecurityCode
    security_name: Name
    listing_date: date
    issue_price: Price


class Dividend(Strict):
    account_no: AccountNo | None = None
    security_code: SecurityCode
    security_name: Name
    cash_per_10_shares: Annotated[Money, Field(gt=0)]
    ex_date: date
    pay_date: date


class WatchlistPrice(Strict):
    security_code: SecurityCode
    security_name: Name
    price: Price
    threshold: Price
    direction: Literal["up", "down"]
    at: AwareDatetime


class WatchlistPercent(Strict):
    security_code: SecurityCode
    security_name: Name
    price: Price
    change_pct: Percent
    threshold_pct: Annotated[Percent, Field(gt=0)]
    at: AwareDatetime


class FinancialProduct(Strict):
    product_name: Name
    event: Literal["subscribed", "confirmed", "redeemed", "matured", "income_paid"]
    amount: Annotated[Money, Field(ge=0)] | None = None
    at: AwareDatetime


class SecurityLogin(Strict):
    device: Name
    location: Annotated[str, Field(max_length=64)] = ""
    at: AwareDatetime


class MarginCall(Strict):
    account_no: AccountNo
    maintenance_ratio: Percent
    required_ratio: Percent
    shortfall: Annotated[Money, Field(gt=0)]
    deadline: AwareDatetime


class Announcement(Strict):
    title: NoticeText
    summary: NoticeText
    published_at: AwareDatetime


class Broadcast(Strict):
    title: NoticeText
    body: NoticeText
    category: Category = Category.MARKETING


# ---- alerts: one model per type ----


class AlertBase(Strict):
    target: Target
    # A link on the template; the type's default page when absent.
    url: HttpUrl | None = None
    # Market alerts not sent by then become `expired` instead of arriving stale.
    expires_at: AwareDatetime | None = None
    source: Annotated[str, Field(max_length=64)] = "broker"


class TradeFillAlert(AlertBase):
    type: Literal[AlertType.TRADE_FILL]
    payload: TradeFill


class OrderStatusAlert(AlertBase):
    type: Literal[AlertType.ORDER_STATUS]
    payload: OrderStatus


class FundTransferAlert(AlertBase):
    type: Literal[AlertType.FUND_TRANSFER]
    payload: FundTransfer


class IpoSubscriptionOpenAlert(AlertBase):
    type: Literal[AlertType.IPO_SUBSCRIPTION_OPEN]
    payload: IpoSubscriptionOpen


class IpoLotteryResultAlert(AlertBase):
    type: Literal[AlertType.IPO_LOTTERY_RESULT]
    payload: IpoLotteryResult


class IpoPaymentDueAlert(AlertBase):
    type: Literal[AlertType.IPO_PAYMENT_DUE]
    payload: IpoPaymentDue


class IpoListingAlert(AlertBase):
    type: Literal[AlertType.IPO_LISTING]
    payload: IpoListing


class DividendAlert(AlertBase):
    type: Literal[AlertType.DIVIDEND]
    payload: Dividend


class WatchlistPriceAlert(AlertBase):
    type: Literal[AlertType.WATCHLIST_PRICE]
    payload: WatchlistPrice


class WatchlistPercentAlert(AlertBase):
    type: Literal[AlertType.WATCHLIST_PERCENT]
    payload: WatchlistPercent


class FinancialProductAlert(AlertBase):
    type: Literal[AlertType.FINANCIAL_PRODUCT]
    payload: FinancialProduct


class SecurityLoginAlert(AlertBase):
    type: Literal[AlertType.SECURITY_LOGIN]
    payload: SecurityLogin


class MarginCallAlert(AlertBase):
    type: Literal[AlertType.MARGIN_CALL]
    payload: MarginCall


class AnnouncementAlert(AlertBase):
    type: Literal[AlertType.ANNOUNCEMENT]
    payload: Announcement


class BroadcastAlert(AlertBase):
    """Ops-triggered push (`POST /api/v1/broadcasts`); never accepted on the broker ingest."""

    type: Literal[AlertType.BROADCAST]
    payload: Broadcast


IngestAlert = Annotated[
    TradeFillAlert
    | OrderStatusAlert
    | FundTransferAlert
    | IpoSubscriptionOpenAlert
    | IpoLotteryResultAlert
    | IpoPaymentDueAlert
    | IpoListingAlert
    | DividendAlert
    | WatchlistPriceAlert
    | WatchlistPercentAlert
    | FinancialProductAlert
    | SecurityLoginAlert
    | MarginCallAlert
    | AnnouncementAlert,
    Field(discriminator="type"),
]
AnyAlert = AlertBase  # every member of IngestAlert and BroadcastAlert


class AlertBatch(Strict):
    alerts: Annotated[list[IngestAlert], Field(min_length=1, max_length=MAX_BATCH)]


class BroadcastRequest(Strict):
    target: TopicTarget | SegmentTarget = Field(discriminator="kind")
    title: NoticeText
    body: NoticeText
    category: Category = Category.MARKETING
    url: HttpUrl | None = None
    expires_at: AwareDatetime | None = None


class Tick(Strict):
    security_code: SecurityCode
    security_name: Name
    price: Price
    prev_close: Price
    at: AwareDatetime


class TickBatch(Strict):
    ticks: Annotated[list[Tick], Field(min_length=1, max_length=MAX_TICKS_PER_REQUEST)]


class SegmentMembers(Strict):
    openids: Annotated[list[OpenId], Field(min_length=1, max_length=10_000)]
    replace: bool = False


# ---- responses ----


class AlertAccepted(BaseModel):
    alert_id: int
    type: AlertType
    severity: Severity
    recipients: int


class BatchAccepted(BaseModel):
    results: list[AlertAccepted]


class TicksAccepted(BaseModel):
    ticks: int
    alerts: list[AlertAccepted]


class SegmentUpdated(BaseModel):
    segment: str
    members: int


class PreferencesRead(BaseModel):
    openid: str
    categories: dict[Category, bool]
    quiet_start_hour: int | None
    quiet_end_hour: int | None


class PreferencesUpdate(Strict):
    categories: dict[Category, bool] = Field(default_factory=dict)
    # Whole hours, Beijing time; start == end is refused, both None clears quiet hours.
    quiet_start_hour: Annotated[int, Field(ge=0, le=23)] | None = None
    quiet_end_hour: Annotated[int, Field(ge=0, le=23)] | None = None

    @model_validator(mode="after")
    def quiet_hours_are_a_pair(self) -> PreferencesUpdate:
        start, end = self.quiet_start_hour, self.quiet_end_hour
        if (start is None) != (end is None):
            raise ValueError("quiet_start_hour and quiet_end_hour go together")
        if start is not None and start == end:
            raise ValueError("quiet hours need start != end")
        return self


class WatchlistItemWrite(Strict):
    security_code: SecurityCode
    above_price: Price | None = None
    below_price: Price | None = None
    change_pct: Annotated[Percent, Field(gt=0, le=100)] | None = None


class WatchlistItemRead(BaseModel):
    security_code: str
    above_price: Decimal | None
    below_price: Decimal | None
    change_pct: Decimal | None


INGEST_ALERT: TypeAdapter[IngestAlert] = TypeAdapter(IngestAlert)
