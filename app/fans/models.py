"""The `fan` table: one row per openid, kept current by subscribe/unsubscribe events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, UtcDateTime


class Fan(Base):
    __tablename__ = "fan"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), unique=True)
    unionid: Mapped[str | None] = mapped_column(String(64))
    is_subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    first_subscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_subscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The `qrscene_` suffix of the QR code that brought the fan in (latest follow).
    subscribe_scene: Mapped[str | None] = mapped_column(String(128))
    subscribe_count: Mapped[int] = mapped_column(Integer, default=0)
    # Last follow, unfollow or scan; message activity lives in inbound_event.
    last_seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )
