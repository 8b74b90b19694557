"""Tables of the push pipeline: alert, delivery, delivery_event, cs_message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, JsonType, UtcDateTime

SEVERITY_CHECK = "severity IN ('critical', 'transactional', 'market', 'marketing')"
DELIVERY_STATUS_CHECK = (
    "status IN ('pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'expired')"
)
CS_STATUS_CHECK = "status IN ('pending', 'queued', 'sending', 'sent', 'failed')"


class Alert(Base):
    """One alert from a brokerage system or an ops broadcast (the ingest API extends it)."""

    __tablename__ = "alert"
    __table_args__ = (CheckConstraint(SEVERITY_CHECK, name="severity"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonType)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    # Market alerts go stale: past this instant a delivery is expired instead of sent.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The rendered template every recipient gets, stored once: a fan-out's delivery rows
    # leave theirs NULL (a million copies of one JSON were a third of the fan-out's cost).
    template_id: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, str] | None] = mapped_column(JsonType)
    url: Mapped[str | None] = mapped_column(String(1024))
    # Every delivery of this alert has an id in [first, last] (rows of other alerts may too:
    # filter on alert_id as well). `first` is set as the alert is inserted (the delivery id
    # sequence's value then + 1), `last` by each insert of its deliveries (NULL: none yet), both
    # by `push.fanout`, the only writer of delivery rows, so per-alert reads scan a slice of
    # the primary key (no alert_id index).
    # FetchedValue: the INSERT's RETURNING brings back the SQL expression `create_alert` sets
    # (else the attribute would be expired after the flush, and reading it would need IO).
    first_delivery_id: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())
    last_delivery_id: Mapped[int | None] = mapped_column(BigInteger)


# A fresh row (inserted by a producer, never relayed one by one) is found by id range (relay
# cursor), never by status: leaving it out of the status index spares every fan-out row an
# index insert. Rows leave this state on their first status change, retry or deferral.
NOT_FRESH = "status <> 'pending' OR queued_at IS NOT NULL OR next_attempt_at IS NOT NULL"


class Delivery(Base):
    """One template message to one fan for one alert; PostgreSQL is the truth of its status.

    No foreign key to `alert`: its per-row check was a third of a million-row fan-out. Rows are
    only inserted by `push.fanout`, which holds the alert row, and alerts are never deleted (a
    retention job must delete deliveries first).

    One row per (alert, fan), kept by `push.fanout` rather than by a unique index (its second
    B-tree insert per row was a fifth of a million-row fan-out): fan-outs into one alert run
    one at a time under its row lock, and each skips the fans that already have a row.
    """

    __tablename__ = "delivery"
    __table_args__ = (
        Index(
            "ix_delivery_status_next_attempt_at",
            "status",
            "next_attempt_at",
            postgresql_where=text(NOT_FRESH),
            sqlite_where=text(NOT_FRESH),
        ),
        Index(
            "ix_delivery_msgid",
            "msgid",
            postgresql_where=text("msgid IS NOT NULL"),
            sqlite_where=text("msgid IS NOT NULL"),
        ),
        CheckConstraint(DELIVERY_STATUS_CHECK, name="status"),
        CheckConstraint(SEVERITY_CHECK, name="severity"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    openid: Mapped[str] = mapped_column(String(64))
    # NULL: the alert's (`Alert.template_id`, `.data`, `.url`); set: this fan's own.
    template_id: Mapped[str | None] = mapped_column(String(128))
    data: Mapped[dict[str, str] | None] = mapped_column(JsonType)
    url: Mapped[str | None] = mapped_column(String(1024))
    # The lane: which stream carries the id, and so how soon it is sent.
    severity: Mapped[str] = mapped_column(String(16))
    # Server defaults let the fan-out's INSERT … SELECT name only the columns it computes.
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Copied from the alert so the worker's claim needs no join.
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    msgid: Mapped[int | None] = mapped_column(BigInteger)
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DeliveryEvent(Base):
    """History of a delivery's outcomes (sent, retry, failed, expired, delivered, re-queued)."""

    __tablename__ = "delivery_event"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"),
        ForeignKey("delivery.id", ondelete="CASCADE"),
        index=True,
    )
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    errcode: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class CsMessage(Base):
    """A deferred customer-service reply (the webhook ran out of its 5 s budget)."""

    __tablename__ = "cs_message"
    __table_args__ = (
        Index("ix_cs_message_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint(CS_STATUS_CHECK, name="status"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    message: Mapped[dict[str, Any]] = mapped_column(JsonType)
    reason: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    errcode: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sending_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PushRelayCursor(Base):
    """The relay's watermark per kind: every fresh row with `id <= last_id` went to Redis.

    Fresh rows (`pending`, never queued, no `next_attempt_at`) are not updated when relayed:
    their `queued` status is derived from this cursor, and the claim sets it for real.
    """

    __tablename__ = "push_relay_cursor"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class PushRelayMark(Base):
    """When the cursor passed an id: the reconciler's queue lease for fresh rows."""

    __tablename__ = "push_relay_mark"
    __table_args__ = (Index("ix_push_relay_mark_kind_at", "kind", "at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    last_id: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
