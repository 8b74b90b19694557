"""Tables of the alerts feature: fan preferences, watchlists, segments, ingest idempotency."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, JsonType, UtcDateTime

QUIET_HOURS_CHECK = (
    "(quiet_start_hour IS NULL AND quiet_end_hour IS NULL) OR "
    "(quiet_start_hour BETWEEN 0 AND 23 AND quiet_end_hour BETWEEN 0 AND 23 "
    "AND quiet_start_hour <> quiet_end_hour)"
)


class FanPreference(Base):
    """Per-fan topic switches and quiet hours; no row means the defaults (marketing off)."""

    __tablename__ = "fan_preference"
    __table_args__ = (CheckConstraint(QUIET_HOURS_CHECK, name="quiet_hours"),)

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    trade: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    ipo: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    watchlist: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    financial: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    marketing: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    # Whole hours, Beijing time; the window may wrap midnight (22 → 8).
    quiet_start_hour: Mapped[int | None] = mapped_column(SmallInteger)
    quiet_end_hour: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class WatchlistItem(Base):
    """A security a fan watches, with optional price and percent thresholds.

    `*_alert_id` holds the alert that fired for the current crossing (NULL = armed): a threshold
    fires once per crossing and re-arms when the price moves back.
    """

    __tablename__ = "watchlist_item"
    __table_args__ = (
        UniqueConstraint("openid", "security_code"),
        Index("ix_watchlist_item_security_code", "security_code"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    security_code: Mapped[str] = mapped_column(String(8))
    above_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    below_price: Mapped[Decimal | None] = mapped_column(Numeric(14, 4))
    change_pct: Mapped[Decimal | None] = mapped_column(Numeric(8, 4))
    above_alert_id: Mapped[int | None] = mapped_column(BigInteger)
    below_alert_id: Mapped[int | None] = mapped_column(BigInteger)
    pct_alert_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class SegmentMember(Base):
    """Named audiences for alerts and broadcasts (filled through the signed segments API)."""

    __tablename__ = "segment_member"
    __table_args__ = (Index("ix_segment_member_openid", "openid"),)

    segment: Mapped[str] = mapped_column(String(64), primary_key=True)
    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class IngestRequest(Base):
    """Idempotency record of one signed POST: replayed while `expires_at` is in the future."""

    __tablename__ = "ingest_request"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
