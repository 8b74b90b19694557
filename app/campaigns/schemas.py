"""Request and response models of the campaigns API (ops, conversion ingest, funnel)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from app.campaigns import constants as c

OpenId = Field(default=None, pattern=r"^[A-Za-z0-9_-]{6,64}$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class StaffCreate(Strict):
    staff_no: str = Field(pattern=c.STAFF_NO_PATTERN)
    name: str = Field(min_length=1, max_length=64)
    branch: str = Field(default="", max_length=64)


class StaffRead(Read):
    staff_no: str
    branch: str
    is_active: bool
    registered_at: datetime
    deactivated_at: datetime | None


class StaffUseRead(BaseModel):
    channel_id: int
    kind: str
    openid_masked: str
    occurred_at: datetime


class QrOptions(Strict):
    permanent: bool = False
    expire_seconds: int = Field(
        default=c.QR_TEMP_DEFAULT_EXPIRE_S, ge=60, le=c.QR_TEMP_MAX_EXPIRE_S
    )


class ChannelCreate(Strict):
    code: str = Field(pattern=c.CHANNEL_CODE_PATTERN)
    name: str = Field(min_length=1, max_length=64)
    kind: c.ChannelKind
    staff_no: str | None = Field(default=None, pattern=c.STAFF_NO_PATTERN)
    qr: QrOptions | None = None


class ChannelRead(Read):
    code: str
    name: str
    kind: str
    scene_str: str | None
    qr_url: str | None
    qr_image_url: str | None = None
    qr_permanent: bool | None
    qr_expires_at: datetime | None
    is_active: bool
    created_at: datetime


class LinkCreate(Strict):
    channel: str = Field(pattern=c.CHANNEL_CODE_PATTERN)
    target: c.LinkTarget
    target_url: str = Field(min_length=8, max_length=1024)


class LinkRead(BaseModel):
    code: str
    channel: str
    target: str
    target_url: str
    url: str


class TouchRead(BaseModel):
    channel: str
    kind: str
    occurred_at: datetime


class AttributionRead(BaseModel):
    first_channel: str | None
    first_touch_at: datetime | None
    last_channel: str | None
    last_touch_at: datetime | None
    touches: list[TouchRead]


class ConversionIn(Strict):
    """One event posted back by a brokerage system; at least one identifier is required."""

    event_id: str = Field(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")
    kind: c.ConversionKind
    occurred_at: AwareDatetime
    openid: str | None = OpenId
    fan_ref: str | None = Field(default=None, max_length=160)
    unionid: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{6,64}$")
    phone_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    account_ref: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    channel: str | None = Field(default=None, pattern=c.CHANNEL_CODE_PATTERN)

    @model_validator(mode="after")
    def _posted_kind_with_identifier(self) -> ConversionIn:
        if self.kind not in c.POSTED_KINDS:
            raise ValueError(
                "follows come from WeChat; post app_activated, account_opened or first_trade"
            )
        if not any((self.openid, self.fan_ref, self.unionid, self.phone_hash, self.account_ref)):
            raise ValueError(
                "give at least one of openid, fan_ref, unionid, phone_hash, account_ref"
            )
        return self


class ConversionBatch(Strict):
    events: list[ConversionIn] = Field(min_length=1, max_length=c.MAX_CONVERSIONS_PER_REQUEST)


class ConversionsAccepted(BaseModel):
    accepted: int
    duplicates: int
    linked_to_fans: int


class FunnelRow(BaseModel):
    channel: str | None
    fan_to_app_user: int
    fan_to_customer: int
    app_user_to_fan: int
    app_user_to_customer: int
    customer_to_fan: int
    customer_to_app_user: int


class FunnelReport(BaseModel):
    start: datetime
    end: datetime
    attribution: c.Attribution
    rows: list[FunnelRow]
    totals: FunnelRow


# -- segments ------------------------------------------------------------------------------


class StaffOpenidLink(Strict):
    openid: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")


class SegmentSize(BaseModel):
    segment: str
    size: int
    wechat_tag: str


class SegmentMembersRead(BaseModel):
    segment: str
    size: int
    members_masked: list[str]


class SweepResult(BaseModel):
    changes: int


# -- campaigns and the lottery -------------------------------------------------------------

CAMPAIGN_CODE = r"^[a-z0-9][a-z0-9_.-]{1,47}$"


class PrizeCreate(Strict):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,31}$")
    name: str = Field(min_length=1, max_length=64)
    value: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    inventory: int = Field(ge=1, le=c.MAX_INVENTORY)
    daily_limit: int | None = Field(default=None, ge=1)
    # An extra action this prize needs; free text so that refused ones get a clear answer.
    condition: str | None = Field(default=None, max_length=64)


class CampaignCreate(Strict):
    code: str = Field(pattern=CAMPAIGN_CODE)
    name: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    eligibility: list[str] = Field(default_factory=list, max_length=10)
    win_probability: Decimal = Field(default=Decimal(1), ge=0, le=1, decimal_places=4)
    person_draws_per_day: int = Field(default=3, ge=1, le=1000)
    scene_draws_per_hour: int = Field(default=500, ge=1, le=1_000_000)
    payout_after: c.ConversionKind | None = None
    payout_hold_hours: int = Field(default=0, ge=0, le=24 * 90)
    prizes: list[PrizeCreate] = Field(min_length=1, max_length=c.MAX_PRIZES)


class PrizeRead(Read):
    code: str
    name: str
    value: Decimal
    inventory: int
    daily_limit: int | None
    awarded: int


class CampaignRead(BaseModel):
    code: str
    name: str
    starts_at: datetime
    ends_at: datetime
    eligibility: list[str]
    win_probability: Decimal
    person_draws_per_day: int
    scene_draws_per_hour: int
    payout_after: str | None
    payout_hold_hours: int
    is_active: bool
    prizes: list[PrizeRead]
    page_url: str | None = None  # the fans' H5 page: link it from a menu item or an article


class DrawRequest(Strict):
    openid: str = Field(pattern=r"^[A-Za-z0-9_-]{6,64}$")


class DrawResultRead(BaseModel):
    decision: str
    reason: str
    prize: str | None
    award_id: int | None
    message: str  # fan-facing, Chinese


class DecisionRead(Read):
    openid: str
    decision: str
    reason: str
    risk_score: int
    prize_id: int | None
    award_id: int | None
    decided_at: datetime


class AwardRead(Read):
    id: int
    prize_id: int
    openid: str
    status: str
    risk_score: int
    won_at: datetime
    payable_at: datetime | None
    paid_at: datetime | None


class CampaignClose(Strict):
    reason: str = Field(min_length=1, max_length=120)


class AwardReview(Strict):
    approve: bool
    reason: str = Field(min_length=1, max_length=120)


class PrizeCheckRead(BaseModel):
    prize: str
    inventory: int
    db_awarded: int
    db_awards: int
    redis_left: int | None


class ReconcileRead(BaseModel):
    campaign: str
    agrees: bool
    repaired: bool
    prizes: list[PrizeCheckRead]
    db_claims: int
    redis_claims: int


class BlacklistCreate(Strict):
    kind: c.BlacklistKind
    value: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=160)


class BlacklistRead(Read):
    kind: str
    value: str
    reason: str
    created_by: str
    created_at: datetime


# -- the fan's campaign page (/h5/campaigns/{code}) ----------------------------------------


class PageLink(BaseModel):
    href: str
    label: str


class FanDrawRead(BaseModel):
    """A draw from the fan's page: the outcome and what to tell the fan (Chinese)."""

    outcome: c.DrawOutcome
    title: str
    message: str
    prize: str | None = None
    can_draw: bool  # whether another tap makes sense (lost with draws left, busy, ...)
    link: PageLink | None = None
