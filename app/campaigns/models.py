"""Campaign tables: staff registry, channels and their QR codes, touches, tracked links,
persons (fans, app users and customers linked by their identifiers), conversion events,
fan signals and segment changes, campaigns, prizes, awards, draw decisions, the blacklist."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, JsonType, UtcDateTime


class StaffMember(Base):
    """Registered staff: only they may have a staff channel (QR code for their clients)."""

    __tablename__ = "staff_member"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    staff_no: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    branch: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    registered_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The member's own WeChat openid once linked: the `registered_staff` segment.
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)


class Channel(Base):
    """A branch, campaign, staff member or online placement, with its parametric QR code."""

    __tablename__ = "channel"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'staff') = (staff_member_id IS NOT NULL)", name="staff_needs_member"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"), index=True)
    # The QR code's scene_str (= code); null for link-only channels.
    scene_str: Mapped[str | None] = mapped_column(String(64), unique=True)
    qr_ticket: Mapped[str | None] = mapped_column(String(255))
    qr_url: Mapped[str | None] = mapped_column(String(255))
    qr_permanent: Mapped[bool | None] = mapped_column(Boolean)
    qr_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ChannelTouch(Base):
    """Each use of a channel: a follow or scan of its QR code, a link click, a conversion."""

    __tablename__ = "channel_touch"
    __table_args__ = (
        Index("ix_channel_touch_channel_id_occurred_at", "channel_id", "occurred_at"),
        Index("ix_channel_touch_openid_occurred_at", "openid", "occurred_at"),
        Index("ix_channel_touch_staff_member_id_occurred_at", "staff_member_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"))
    openid: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TrackedLink(Base):
    """`/t/{code}` redirects to `target_url`, tagging the visit with its channel."""

    __tablename__ = "tracked_link"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("channel.id"), index=True)
    target: Mapped[str] = mapped_column(String(24))
    target_url: Mapped[str] = mapped_column(String(1024))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Person(Base):
    """One human as far as our identifiers tell: a fan (openid), an app user, a customer.

    Identifiers arrive separately (a follow; an app activation with a phone hash; an account
    opening with the account reference) and are merged into one row when they meet.
    """

    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str | None] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    account_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    first_channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"), index=True)
    first_touch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"), index=True)
    last_touch_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class ConversionEvent(Base):
    """A step of a person's journey; the funnel is computed from these timestamps."""

    __tablename__ = "conversion_event"
    __table_args__ = (
        Index("ix_conversion_event_person_id_kind", "person_id", "kind", "occurred_at"),
        Index("ix_conversion_event_kind_occurred_at", "kind", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    # The sender's id (idempotency); follows use "followed:<openid>".
    event_id: Mapped[str] = mapped_column(String(96), unique=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(24))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channel.id"))
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SegmentFeedCursor(Base):
    """How far the worker has read `inbound_event` for segments (one row, id 1)."""

    __tablename__ = "segment_feed_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)


class FanSignal(Base):
    """What the segments are derived from, kept current from recorded webhook batches."""

    __tablename__ = "fan_signal"
    __table_args__ = (
        Index("ix_fan_signal_follow_scene_followed_at", "follow_scene", "followed_at"),
    )

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    is_subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    followed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # latest follow
    follow_scene: Mapped[str | None] = mapped_column(String(128))
    last_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    # Menu clicks/views and QR scans: what makes an unbound fan an engaged prospect.
    last_engaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    risk_reason: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SegmentChange(Base):
    """Outbox of segment membership changes, mirrored to WeChat tags by a worker loop."""

    __tablename__ = "segment_change"
    __table_args__ = (Index("ix_segment_change_pending", "mirrored_at", "id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    segment: Mapped[str] = mapped_column(String(64))
    openid: Mapped[str] = mapped_column(String(64))
    op: Mapped[str] = mapped_column(String(8))  # add | remove
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    mirrored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Campaign(Base):
    """A lottery campaign: window, eligibility rules, draw limits and the payout rule."""

    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(48), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    eligibility: Mapped[list[Any]] = mapped_column(JsonType)
    win_probability: Mapped[Decimal] = mapped_column(Numeric(5, 4))
    person_draws_per_day: Mapped[int] = mapped_column(Integer)
    scene_draws_per_hour: Mapped[int] = mapped_column(Integer)
    payout_after: Mapped[str | None] = mapped_column(String(24))  # a conversion kind
    payout_hold_hours: Mapped[int] = mapped_column(Integer)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignPrize(Base):
    """A prize with its inventory; `awarded` is the database's own guard against overselling."""

    __tablename__ = "campaign_prize"
    __table_args__ = (
        UniqueConstraint("campaign_id", "code"),
        CheckConstraint("awarded >= 0 AND awarded <= inventory", name="awarded_within_inventory"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    inventory: Mapped[int] = mapped_column(Integer)
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    awarded: Mapped[int] = mapped_column(Integer, default=0)


class PrizeAward(Base):
    """A won prize; paid out only once the qualifying action is confirmed (deferred payout)."""

    __tablename__ = "prize_award"
    __table_args__ = (Index("ix_prize_award_campaign_id_status", "campaign_id", "status"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    prize_id: Mapped[int] = mapped_column(ForeignKey("campaign_prize.id"))
    person_id: Mapped[int] = mapped_column(BigIntPk)
    openid: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    risk_score: Mapped[int] = mapped_column(Integer)
    won_at: Mapped[datetime] = mapped_column(UtcDateTime)
    payable_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AwardClaim(Base):
    """One row per identifier of a winner: one prize per person per campaign, whichever
    identifier (openid, unionid, bound account, account reference, phone hash) they come by."""

    __tablename__ = "award_claim"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    value: Mapped[str] = mapped_column(String(64), primary_key=True)
    award_id: Mapped[int] = mapped_column(ForeignKey("prize_award.id"), index=True)


class DrawDecision(Base):
    """Every draw and payout decision with its reason (brokerage audit)."""

    __tablename__ = "draw_decision"
    __table_args__ = (
        Index("ix_draw_decision_campaign_id_decided_at", "campaign_id", "decided_at"),
        Index("ix_draw_decision_openid", "openid"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id"))
    openid: Mapped[str] = mapped_column(String(64))
    decision: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(160))
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    prize_id: Mapped[int | None] = mapped_column(BigIntPk)
    award_id: Mapped[int | None] = mapped_column(BigIntPk)
    decided_at: Mapped[datetime] = mapped_column(UtcDateTime)


class DrawBlacklist(Base):
    """Identifiers (or QR scenes) refused at every draw, with who listed them and why."""

    __tablename__ = "draw_blacklist"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(String(160))
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
