"""Keyword auto-replies: validated writes, and an in-process cache the webhook matches against."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.content import constants as c
from app.content.errors import InvalidKeywordReplyError, KeywordReplyNotFoundError
from app.content.models import KeywordReply, MatchType
from app.content.repository import KeywordReplyRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KeywordRule:
    """A compiled, immutable copy of an active `keyword_reply` row."""

    id: int
    keyword: str
    match_type: MatchType
    reply_text: str
    priority: int
    pattern: re.Pattern[str] | None = None

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


def _check_reply_text(reply_text: str) -> str:
    if not reply_text.strip() or len(reply_text) > c.MAX_REPLY_LENGTH:
        raise InvalidKeywordReplyError(f"reply text must be 1..{c.MAX_REPLY_LENGTH} characters")
    return reply_text


async def create_keyword_reply(
    session: AsyncSession,
    *,
    keyword: str,
    reply_text: str,
    match_type: str = MatchType.EXACT,
    priority: int = 100,
    is_active: bool = True,
) -> KeywordReply:
    """Add a keyword auto-reply; invalid regexes and blank texts are refused. Flushes."""
    compile_keyword(keyword, match_type)
    row = KeywordReply(
        keyword=keyword,
        match_type=str(match_type),
        reply_text=_check_reply_text(reply_text),
        priority=priority,
        is_active=is_active,
    )
    return await KeywordReplyRepository(session).add(row)


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
    rules: list[KeywordRule] = []
    for row in await KeywordReplyRepository(session).list_active():
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
            )
        )
    return rules


class KeywordCache:
    """Per-process copy of the active rules: the webhook never queries the database."""

    def __init__(self, *, refresh_interval_s: float = c.KEYWORD_REFRESH_INTERVAL_S) -> None:
        self._interval_s = refresh_interval_s
        self._exact: dict[str, KeywordRule] = {}
        self._regex: tuple[KeywordRule, ...] = ()
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
        except (SQLAlchemyError, OSError):
            log.warning("content.keyword_cache.refresh_failed", exc_info=True)
            return -1
        self.replace(rules)
        return len(rules)

    async def run(
        self, sessionmaker: async_sessionmaker[AsyncSession], stop_event: asyncio.Event
    ) -> None:
        """Supervisor loop: refresh now, then every interval until asked to stop."""
        while not stop_event.is_set():
            await self.refresh(sessionmaker)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), self._interval_s)
