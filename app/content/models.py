"""The `keyword_reply` table: keyword auto-replies (exact or regex) managed by ops."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, CheckConstraint, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, UtcDateTime


class MatchType(StrEnum):
    EXACT = "exact"
    REGEX = "regex"


class KeywordReply(Base):
    __tablename__ = "keyword_reply"
    __table_args__ = (CheckConstraint("match_type IN ('exact', 'regex')", name="match_type"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    keyword: Mapped[str] = mapped_column(String(255))
    match_type: Mapped[str] = mapped_column(String(16), default=MatchType.EXACT.value)
    reply_text: Mapped[str] = mapped_column(Text)
    # Lower numbers win; ties go to the older rule (lower id).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )
