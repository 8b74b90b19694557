"""Campaign tables: staff registry, channels and their QR codes, touches, tracked links,
persons (fans, app users and customers linked by their identifiers) and conversion events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, UtcDateTime


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
