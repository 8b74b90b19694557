"""The append-only `inbound_event` table: every message and event WeChat delivered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, UtcDateTime


class InboundEvent(Base):
    __tablename__ = "inbound_event"
    __table_args__ = (
        Index("ix_inbound_event_openid_received_at", "openid", "received_at"),
        Index("ix_inbound_event_msg_type_event_received_at", "msg_type", "event", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    msg_type: Mapped[str] = mapped_column(String(32))
    event: Mapped[str | None] = mapped_column(String(64))
    event_key: Mapped[str | None] = mapped_column(String(255))
    scene: Mapped[str | None] = mapped_column(String(128))
    msg_id: Mapped[str | None] = mapped_column(String(64))
    wechat_created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
