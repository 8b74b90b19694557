"""Content tables: keyword auto-replies, articles, and versioned custom menus."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, JsonType, UtcDateTime

PUBLISHED_ONLY = text("status = 'published'")


class MatchType(StrEnum):
    EXACT = "exact"
    REGEX = "regex"


class MenuStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"  # the one WeChat shows now (at most one)
    SUPERSEDED = "superseded"  # was published, then another version replaced it


class Article(Base):
    """Brand content served as news cards (keyword replies, the "最新资讯" menu key)."""

    __tablename__ = "article"
    __table_args__ = (Index("ix_article_active_published_at", "is_active", "published_at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(120), default="")
    cover_url: Mapped[str] = mapped_column(String(1024), default="")
    link_url: Mapped[str] = mapped_column(String(1024))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Newest first in "最新资讯"; ops may back-date or schedule by setting it.
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class KeywordReply(Base):
    __tablename__ = "keyword_reply"
    __table_args__ = (CheckConstraint("match_type IN ('exact', 'regex')", name="match_type"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    keyword: Mapped[str] = mapped_column(String(255))
    match_type: Mapped[str] = mapped_column(String(16), default=MatchType.EXACT.value)
    # Empty when the rule answers with an article card only.
    reply_text: Mapped[str] = mapped_column(Text)
    # Set: the reply is this article's news card (the text is the fallback if it is withdrawn).
    article_id: Mapped[int | None] = mapped_column(ForeignKey("article.id"), index=True)
    # Lower numbers win; ties go to the older rule (lower id).
    priority: Mapped[int] = mapped_column(Integer, default=100)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UtcDateTime, server_default=func.now(), onupdate=func.now()
    )


class MenuVersion(Base):
    """One immutable menu definition (default + conditional menus); edits make new versions."""

    __tablename__ = "menu_version"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'superseded')", name="status"),
        # At most one published version: the database refuses a second one, even in a race.
        Index(
            "uq_menu_version_published",
            "status",
            unique=True,
            postgresql_where=PUBLISHED_ONLY,
            sqlite_where=PUBLISHED_ONLY,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MenuStatus.DRAFT.value)
    definition: Mapped[dict[str, Any]] = mapped_column(JsonType)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    published_by: Mapped[str | None] = mapped_column(String(64))


class MenuPublication(Base):
    """Every time a version went to WeChat (history survives re-publishing an old version)."""

    __tablename__ = "menu_publication"

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    menu_version_id: Mapped[int] = mapped_column(ForeignKey("menu_version.id"), index=True)
    published_by: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Conditional menu ids WeChat returned, by "<tag>:<platform>".
    wechat_menu_ids: Mapped[dict[str, Any]] = mapped_column(JsonType)
