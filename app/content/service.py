"""Content: keyword auto-replies (and the webhook's in-process cache), articles, menu versions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.content import constants as c
from app.content import menus
from app.content.errors import (
    ArticleNotFoundError,
    InvalidArticleError,
    InvalidKeywordReplyError,
    KeywordReplyNotFoundError,
    MenuPublishError,
    MenuVersionNotFoundError,
    MenuVersionStateError,
)
from app.content.models import (
    Article,
    KeywordReply,
    MatchType,
    MenuPublication,
    MenuStatus,
    MenuVersion,
)
from app.content.repository import (
    ArticleRepository,
    KeywordReplyRepository,
    MenuPublicationRepository,
    MenuVersionRepository,
)
from app.core.audit import AuditTrail
from app.core.time import Clock, SystemClock
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatError
from app.wechat.replies import Article as NewsArticle
from app.wechat.replies import NewsReply

log = logging.getLogger(__name__)
KEYWORD_REPLY_FIELDS = (
    "keyword",
    "match_type",
    "reply_text",
    "priority",
    "is_active",
    "article_id",
)
ARTICLE_FIELDS = ("title", "digest", "cover_url", "link_url", "published_at", "is_active")
# PATCH fields that may be set to null (every other field keeps a value once set).
NULLABLE_KEYWORD_REPLY_FIELDS = frozenset({"article_id"})


def keyword_reply_snapshot(row: KeywordReply) -> dict[str, Any]:
    """What the audit log keeps of a keyword reply (before and after an edit)."""
    return {name: getattr(row, name) for name in KEYWORD_REPLY_FIELDS}


def article_snapshot(row: Article) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ARTICLE_FIELDS}


async def _record(
    audit: AuditTrail | None,
    action: str,
    target_type: str,
    target_id: int,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    if audit is not None:  # None: seeds, benchmarks and tests acting outside the ops API
        await audit.record(
            action, target_type=target_type, target_id=target_id, before=before, after=after
        )


def _check_changes(
    changes: dict[str, Any],
    editable: tuple[str, ...],
    nullable: frozenset[str],
    error: type[Exception],
) -> None:
    unknown = set(changes) - set(editable)
    if unknown:
        raise error(f"unknown field(s): {', '.join(sorted(unknown))}")
    nulls = sorted(k for k, v in changes.items() if v is None and k not in nullable)
    if nulls:
        raise error(f"{', '.join(nulls)} cannot be null")


@dataclass(frozen=True, slots=True)
class ArticleCard:
    """An immutable copy of an active article, ready to become a news reply."""

    id: int
    title: str
    digest: str
    cover_url: str
    link_url: str

    def news_article(self) -> NewsArticle:
        return NewsArticle(self.title, self.digest, self.cover_url, self.link_url)


def news_reply(cards: list[ArticleCard]) -> NewsReply:
    """The passive news reply for the first article(s) WeChat shows in one reply."""
    return NewsReply([card.news_article() for card in cards[: c.NEWS_REPLY_ARTICLES]])


def _card(row: Article) -> ArticleCard:
    return ArticleCard(row.id, row.title, row.digest, row.cover_url, row.link_url)


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A compiled, immutable copy of an active `keyword_reply` row."""

    id: int
    keyword: str
    match_type: MatchType
    reply_text: str
    priority: int
    pattern: re.Pattern[str] | None = None
    # Set: answer with this article's news card (None once the article is withdrawn).
    article: ArticleCard | None = None

    @property
    def rank(self) -> tuple[int, int]:
        return (self.priority, self.id)


def normalize_text(text: str) -> str:
    """How exact keywords and fan messages are compared: trimmed, case-folded."""
    return text.strip().casefold()


def compile_keyword(keyword: str, match_type: str) -> re.Pattern[str] | None:
    """Validate a keyword; the compiled pattern for regex rules (raises on a bad one)."""
    if match_type not in (MatchType.EXACT, MatchType.REGEX):
        raise InvalidKeywordReplyError(f"match_type must be exact or regex, not {match_type!r}")
    if not keyword.strip() or len(keyword) > c.MAX_KEYWORD_LENGTH:
        raise InvalidKeywordReplyError(f"keyword must be 1..{c.MAX_KEYWORD_LENGTH} characters")
    if match_type == MatchType.EXACT:
        return None
    try:
        pattern = re.compile(keyword)
    except re.error as exc:
        raise InvalidKeywordReplyError(f"invalid regular expression: {exc}") from exc
    if pattern.search("") is not None:
        raise InvalidKeywordReplyError("the pattern matches every message")
    return pattern


def _check_reply_text(reply_text: str, *, article_id: int | None = None) -> str:
    if article_id is not None and not reply_text.strip():
        return ""  # the article card is the answer
    if not reply_text.strip() or len(reply_text) > c.MAX_REPLY_LENGTH:
        raise InvalidKeywordReplyError(f"reply text must be 1..{c.MAX_REPLY_LENGTH} characters")
    return reply_text


async def _check_article(session: AsyncSession, article_id: int | None) -> None:
    if article_id is not None and await ArticleRepository(session).get(article_id) is None:
        raise InvalidKeywordReplyError(f"article {article_id} does not exist")


async def create_keyword_reply(
    session: AsyncSession,
    *,
    keyword: str,
    reply_text: str = "",
    match_type: str = MatchType.EXACT,
    priority: int = 100,
    is_active: bool = True,
    article_id: int | None = None,
    audit: AuditTrail | None = None,
) -> KeywordReply:
    """Add a keyword auto-reply (a text, or an article card); bad rules are refused. Flushes;
    audited when the ops API passes its trail."""
    compile_keyword(keyword, match_type)
    await _check_article(session, article_id)
    row = KeywordReply(
        keyword=keyword,
        match_type=str(match_type),
        reply_text=_check_reply_text(reply_text, article_id=article_id),
        priority=priority,
        is_active=is_active,
        article_id=article_id,
    )
    await KeywordReplyRepository(session).add(row)
    after = keyword_reply_snapshot(row)
    await _record(audit, "content.keyword_reply.create", "keyword_reply", row.id, after=after)
    return row


async def get_keyword_reply(session: AsyncSession, reply_id: int) -> KeywordReply:
    row = await KeywordReplyRepository(session).get(reply_id)
    if row is None:
        raise KeywordReplyNotFoundError(reply_id)
    return row


async def list_keyword_replies(
    session: AsyncSession, *, limit: int = 100, offset: int = 0
) -> list[KeywordReply]:
    """Every rule, active or not, oldest first (the ops list)."""
    return await KeywordReplyRepository(session).list_all(limit=limit, offset=offset)


async def update_keyword_reply(
    session: AsyncSession,
    reply_id: int,
    *,
    changes: dict[str, Any],
    audit: AuditTrail | None = None,
) -> KeywordReply:
    """Change some fields of a rule (`is_active: false` disables it: rules are kept, never
    deleted); the result is validated as a whole. Flushes; audited with before and after."""
    row = await get_keyword_reply(session, reply_id)
    _check_changes(
        changes, KEYWORD_REPLY_FIELDS, NULLABLE_KEYWORD_REPLY_FIELDS, InvalidKeywordReplyError
    )
    before = keyword_reply_snapshot(row)
    merged = before | changes
    compile_keyword(str(merged["keyword"]), str(merged["match_type"]))
    article_id = merged["article_id"]
    await _check_article(session, article_id)
    row.keyword = str(merged["keyword"])
    row.match_type = str(merged["match_type"])
    row.reply_text = _check_reply_text(str(merged["reply_text"]), article_id=article_id)
    row.priority = int(merged["priority"])
    row.is_active = bool(merged["is_active"])
    row.article_id = article_id
    await session.flush()
    after = keyword_reply_snapshot(row)
    await _record(
        audit, "content.keyword_reply.update", "keyword_reply", row.id, before=before, after=after
    )
    return row


async def set_keyword_reply_active(
    session: AsyncSession, reply_id: int, *, is_active: bool
) -> KeywordReply:
    """Switch a rule on or off (rules are kept, never deleted, for the audit trail)."""
    row = await KeywordReplyRepository(session).get(reply_id)
    if row is None:
        raise KeywordReplyNotFoundError(reply_id)
    row.is_active = is_active
    await session.flush()
    return row


async def list_active_keyword_rules(session: AsyncSession) -> list[KeywordRule]:
    """Active rules, best first; a row whose pattern no longer compiles is skipped and logged."""
    rows = await KeywordReplyRepository(session).list_active()
    article_ids = {row.article_id for row in rows if row.article_id is not None}
    articles = {
        a.id: _card(a)
        for a in await ArticleRepository(session).list_by_ids(article_ids)
        if a.is_active
    }
    rules: list[KeywordRule] = []
    for row in rows:
        try:
            pattern = compile_keyword(row.keyword, row.match_type)
        except InvalidKeywordReplyError:
            log.warning("content.keyword_reply.invalid", extra={"reply_id": row.id})
            continue
        rules.append(
            KeywordRule(
                id=row.id,
                keyword=row.keyword,
                match_type=MatchType(row.match_type),
                reply_text=row.reply_text,
                priority=row.priority,
                pattern=pattern,
                article=articles.get(row.article_id) if row.article_id is not None else None,
            )
        )
    return rules


class KeywordCache:
    """Per-process copy of the active rules: the webhook never queries the database."""

    def __init__(
        self,
        *,
        refresh_interval_s: float = c.KEYWORD_REFRESH_INTERVAL_S,
        clock: Clock | None = None,
    ) -> None:
        self._interval_s = refresh_interval_s
        self._clock: Clock = clock or SystemClock()
        self._exact: dict[str, KeywordRule] = {}
        self._regex: tuple[KeywordRule, ...] = ()
        self.latest_articles: tuple[ArticleCard, ...] = ()
        self.loaded = False

    def replace(self, rules: list[KeywordRule]) -> None:
        exact: dict[str, KeywordRule] = {}
        for rule in sorted(rules, key=lambda r: r.rank):
            if rule.match_type == MatchType.EXACT:
                exact.setdefault(normalize_text(rule.keyword), rule)
        regex = tuple(sorted((r for r in rules if r.pattern is not None), key=lambda r: r.rank))
        self._exact, self._regex, self.loaded = exact, regex, True

    def match(self, text: str) -> KeywordRule | None:
        """The best rule (lowest priority, then oldest) matching a text message."""
        best = self._exact.get(normalize_text(text))
        head = text[: c.MAX_MATCHED_TEXT]
        for rule in self._regex:
            if best is not None and rule.rank > best.rank:
                break
            if rule.pattern is not None and rule.pattern.search(head):
                return rule
        return best

    async def refresh(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        """Reload from the database; on failure the previous rules stay in use."""
        try:
            async with sessionmaker() as session:
                rules = await list_active_keyword_rules(session)
                latest = await list_latest_articles(session, now=self._clock.now())
        except (SQLAlchemyError, OSError):
            log.warning("content.keyword_cache.refresh_failed", exc_info=True)
            return -1
        self.replace(rules)
        self.latest_articles = tuple(latest)
        return len(rules)

    async def run(
        self, sessionmaker: async_sessionmaker[AsyncSession], stop_event: asyncio.Event
    ) -> None:
        """Supervisor loop: refresh now, then every interval until asked to stop."""
        while not stop_event.is_set():
            await self.refresh(sessionmaker)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), self._interval_s)


# -- Articles --------------------------------------------------------------------------------


def _check_article_fields(fields: dict[str, Any]) -> None:
    title = str(fields.get("title") or "")
    if not title.strip() or len(title) > c.ARTICLE_TITLE_MAX:
        raise InvalidArticleError(f"title must be 1..{c.ARTICLE_TITLE_MAX} characters")
    if len(str(fields.get("digest") or "")) > c.ARTICLE_DIGEST_MAX:
        raise InvalidArticleError(f"digest must be at most {c.ARTICLE_DIGEST_MAX} characters")
    for name, required in (("link_url", True), ("cover_url", False)):
        url = str(fields.get(name) or "")
        if not url and not required:
            continue
        if not url.startswith(("https://", "http://")) or len(url) > c.ARTICLE_URL_MAX:
            raise InvalidArticleError(f"{name} must be an http(s) URL of 1..1024 characters")


async def create_article(
    session: AsyncSession,
    *,
    title: str,
    link_url: str,
    now: datetime,
    digest: str = "",
    cover_url: str = "",
    published_at: datetime | None = None,
    is_active: bool = True,
    audit: AuditTrail | None = None,
) -> Article:
    """Add an article (title, digest, cover, link). Flushes; audited via the ops API's trail."""
    fields = {"title": title, "digest": digest, "cover_url": cover_url, "link_url": link_url}
    _check_article_fields(fields)
    row = Article(**fields, is_active=is_active, published_at=published_at or now)
    await ArticleRepository(session).add(row)
    await _record(audit, "content.article.create", "article", row.id, after=article_snapshot(row))
    return row


async def get_article(session: AsyncSession, article_id: int) -> Article:
    row = await ArticleRepository(session).get(article_id)
    if row is None:
        raise ArticleNotFoundError(article_id)
    return row


async def update_article(
    session: AsyncSession,
    article_id: int,
    *,
    changes: dict[str, Any],
    audit: AuditTrail | None = None,
) -> Article:
    """Change some fields of an article (`is_active: false` withdraws it; validated as a
    whole). Flushes; audited with before and after."""
    row = await get_article(session, article_id)
    _check_changes(changes, ARTICLE_FIELDS, frozenset(), InvalidArticleError)
    before = article_snapshot(row)
    merged = before | changes
    _check_article_fields(merged)
    for name in ARTICLE_FIELDS:
        setattr(row, name, merged[name])
    await session.flush()
    after = article_snapshot(row)
    await _record(audit, "content.article.update", "article", row.id, before=before, after=after)
    return row


async def list_articles(
    session: AsyncSession, *, limit: int = 50, offset: int = 0
) -> list[Article]:
    return await ArticleRepository(session).list_all(limit=limit, offset=offset)


async def list_latest_articles(
    session: AsyncSession, *, now: datetime, limit: int = c.LATEST_ARTICLES_CACHED
) -> list[ArticleCard]:
    """Active articles already published, newest first ("最新资讯")."""
    rows = await ArticleRepository(session).list_latest_active(now=now, limit=limit)
    return [_card(row) for row in rows]


# -- Menu versions -------------------------------------------------------------------------
# Four-eyes approval (issue #8) wraps these: drafting and publishing are separate calls.


def check_menu_definition(definition: object, *, base_url: str) -> list[str]:
    """Every problem WeChat would have with a definition (empty: it would be accepted)."""
    return menus.check_definition(definition, base_url=base_url)


async def draft_menu_version(
    session: AsyncSession,
    *,
    definition: dict[str, Any],
    created_by: str,
    base_url: str,
    now: datetime,
    note: str = "",
    audit: AuditTrail | None = None,
) -> MenuVersion:
    """Store a validated definition as the next draft version (versions are immutable).
    Audited (the version number and note; the definition is in the row) via the ops trail."""
    checked = menus.validate_definition(definition, base_url=base_url)
    repo = MenuVersionRepository(session)
    row = MenuVersion(
        version=await repo.next_version_number(),
        status=MenuStatus.DRAFT.value,
        definition=checked,
        note=note[: c.MENU_NOTE_MAX],
        created_by=created_by[:64],
        created_at=now,
    )
    await repo.add(row)
    log.info("content.menu.drafted", extra={"version": row.version})
    after = {"version": row.version, "note": row.note}
    await _record(audit, "content.menu_version.draft", "menu_version", row.version, after=after)
    return row


async def import_menu_yaml(
    session: AsyncSession,
    *,
    text: str | bytes,
    created_by: str,
    base_url: str,
    now: datetime,
    audit: AuditTrail | None = None,
) -> MenuVersion:
    """A new draft version from a YAML export (`wxbroker menu import`, the ops API)."""
    definition = menus.load_yaml(text)
    return await draft_menu_version(
        session,
        definition=definition,
        created_by=created_by,
        base_url=base_url,
        now=now,
        note="imported from YAML",
        audit=audit,
    )


async def get_menu_version(session: AsyncSession, version: int) -> MenuVersion:
    row = await MenuVersionRepository(session).get_by_version(version)
    if row is None:
        raise MenuVersionNotFoundError(version)
    return row


async def get_published_menu_version(session: AsyncSession) -> MenuVersion:
    row = await MenuVersionRepository(session).get_published()
    if row is None:
        raise MenuVersionNotFoundError()
    return row


async def list_menu_versions(session: AsyncSession, *, limit: int = 50) -> list[MenuVersion]:
    return await MenuVersionRepository(session).list_recent(limit=limit)


async def list_menu_publications(session: AsyncSession, version: int) -> list[MenuPublication]:
    row = await get_menu_version(session, version)
    return await MenuVersionRepository(session).list_publications(row.id)


async def export_menu_yaml(session: AsyncSession, version: int | None = None) -> str:
    """A version (the published one by default) as YAML."""
    row = (
        await get_menu_version(session, version)
        if version is not None
        else await get_published_menu_version(session)
    )
    return menus.dump_yaml(row.definition)


async def publish_menu_version(
    session: AsyncSession,
    *,
    version: int,
    wechat: WeChatClient,
    base_url: str,
    published_by: str,
    now: datetime,
) -> MenuVersion:
    """Validate, send to WeChat, then mark the version published (the previous one superseded).

    A WeChat failure leaves every status as it was (MenuPublishError). Re-publishing the
    published version re-sends it (e.g. after a console edit overwrote it).
    """
    row = await get_menu_version(session, version)
    rendered = menus.render(row.definition, base_url=base_url)
    try:
        published = await menus.publish(wechat, rendered)
    except WeChatError as exc:
        log.warning("content.menu.publish_failed", extra={"version": version, "error": str(exc)})
        raise MenuPublishError(f"WeChat refused menu version {version}: {exc}") from exc
    repo = MenuVersionRepository(session)
    await repo.supersede_published(except_id=row.id)
    await session.flush()  # the partial unique index sees one published row at a time
    row.status = MenuStatus.PUBLISHED.value
    row.published_at, row.published_by = now, published_by[:64]
    publication = MenuPublication(
        menu_version_id=row.id,
        published_by=published_by[:64],
        published_at=now,
        wechat_menu_ids=published.conditional_menu_ids,
    )
    await MenuPublicationRepository(session).add(publication)
    return row


async def publish_builtin_menu(
    session: AsyncSession, *, wechat: WeChatClient, base_url: str, published_by: str, now: datetime
) -> MenuVersion:
    """First run: draft the built-in menu (prospects + bound customers) and publish it."""
    if await MenuVersionRepository(session).next_version_number() != 1:
        raise MenuVersionStateError("menu versions exist already; publish one of them")
    draft = await draft_menu_version(
        session,
        definition=menus.builtin_definition(),
        created_by=published_by,
        base_url=base_url,
        now=now,
        note="built-in menu",
    )
    return await publish_menu_version(
        session,
        version=draft.version,
        wechat=wechat,
        base_url=base_url,
        published_by=published_by,
        now=now,
    )
