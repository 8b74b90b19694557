"""Request and response models of the content ops API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.content import constants as c


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class KeywordReplyCreate(Strict):
    keyword: str = Field(min_length=1, max_length=c.MAX_KEYWORD_LENGTH)
    match_type: str = Field(default="exact", pattern="^(exact|regex)$")
    reply_text: str = Field(default="", max_length=c.MAX_REPLY_LENGTH)
    article_id: int | None = Field(default=None, ge=1)
    priority: int = Field(default=100, ge=0, le=10_000)
    is_active: bool = True


class KeywordReplyUpdate(Strict):
    keyword: str | None = Field(default=None, min_length=1, max_length=c.MAX_KEYWORD_LENGTH)
    match_type: str | None = Field(default=None, pattern="^(exact|regex)$")
    reply_text: str | None = Field(default=None, max_length=c.MAX_REPLY_LENGTH)
    article_id: int | None = Field(default=None, ge=1)
    priority: int | None = Field(default=None, ge=0, le=10_000)
    is_active: bool | None = None


class KeywordReplyRead(Read):
    id: int
    keyword: str
    match_type: str
    reply_text: str
    article_id: int | None
    priority: int
    is_active: bool


class ArticleCreate(Strict):
    title: str = Field(min_length=1, max_length=c.ARTICLE_TITLE_MAX)
    digest: str = Field(default="", max_length=c.ARTICLE_DIGEST_MAX)
    cover_url: str = Field(default="", max_length=c.ARTICLE_URL_MAX)
    link_url: str = Field(min_length=1, max_length=c.ARTICLE_URL_MAX)
    published_at: AwareDatetime | None = None
    is_active: bool = True


class ArticleUpdate(Strict):
    title: str | None = Field(default=None, min_length=1, max_length=c.ARTICLE_TITLE_MAX)
    digest: str | None = Field(default=None, max_length=c.ARTICLE_DIGEST_MAX)
    cover_url: str | None = Field(default=None, max_length=c.ARTICLE_URL_MAX)
    link_url: str | None = Field(default=None, min_length=1, max_length=c.ARTICLE_URL_MAX)
    published_at: AwareDatetime | None = None
    is_active: bool | None = None


class ArticleRead(Read):
    id: int
    title: str
    digest: str
    cover_url: str
    link_url: str
    published_at: datetime
    is_active: bool


class MenuDraft(Strict):
    definition: dict[str, Any]
    note: str = Field(default="", max_length=c.MENU_NOTE_MAX)


class MenuCheck(BaseModel):
    valid: bool
    problems: list[str]


class MenuVersionRead(Read):
    version: int
    status: str
    definition: dict[str, Any]
    note: str
    created_by: str
    created_at: datetime
    published_at: datetime | None
    published_by: str | None


class MenuPublicationRead(Read):
    published_by: str
    published_at: datetime
    wechat_menu_ids: dict[str, Any]
