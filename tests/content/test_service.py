"""Keyword replies: validated writes, the in-process cache and its precedence."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.content import service
from app.content.errors import InvalidKeywordReplyError, KeywordReplyNotFoundError
from app.content.models import MatchType
from app.content.service import KeywordCache, KeywordRule
from app.core.db import create_sessionmaker, unit_of_work


def rule(rule_id: int, keyword: str, match_type: str = "exact", priority: int = 100) -> KeywordRule:
    return KeywordRule(
        id=rule_id,
        keyword=keyword,
        match_type=MatchType(match_type),
        reply_text=f"reply-{rule_id}",
        priority=priority,
        pattern=service.compile_keyword(keyword, match_type),
    )


class TestCreateKeywordReply:
    async def test_a_valid_regex_rule_is_stored(self, session: AsyncSession) -> None:
        row = await service.create_keyword_reply(
            session, keyword=r"^开户(流程)?$", reply_text="开户请点击菜单", match_type="regex"
        )
        assert row.id is not None
        rules = await service.list_active_keyword_rules(session)
        assert [(r.id, r.match_type) for r in rules] == [(row.id, MatchType.REGEX)]

    @pytest.mark.parametrize(
        ("keyword", "match_type", "reply"),
        [
            ("(unclosed", "regex", "x"),
            (".*", "regex", "x"),
            ("  ", "exact", "x"),
            ("k" * 201, "exact", "x"),
            ("ok", "fuzzy", "x"),
            ("ok", "exact", "   "),
        ],
        ids=["bad_regex", "matches_everything", "blank", "too_long", "bad_type", "blank_reply"],
    )
    async def test_invalid_rules_are_refused(
        self, session: AsyncSession, keyword: str, match_type: str, reply: str
    ) -> None:
        with pytest.raises(InvalidKeywordReplyError):
            await service.create_keyword_reply(
                session, keyword=keyword, reply_text=reply, match_type=match_type
            )

    async def test_deactivated_rules_are_not_listed(self, session: AsyncSession) -> None:
        row = await service.create_keyword_reply(session, keyword="旧", reply_text="x")
        await service.set_keyword_reply_active(session, row.id, is_active=False)
        assert await service.list_active_keyword_rules(session) == []

    async def test_switching_an_unknown_rule_is_not_found(self, session: AsyncSession) -> None:
        with pytest.raises(KeywordReplyNotFoundError):
            await service.set_keyword_reply_active(session, 999999, is_active=False)


class TestKeywordCache:
    def test_exact_match_is_trimmed_and_case_insensitive(self) -> None:
        cache = KeywordCache()
        cache.replace([rule(1, "App下载")])
        assert cache.match("  app下载 ") == rule(1, "App下载")
        assert cache.match("app") is None

    def test_lower_priority_number_wins_between_exact_and_regex(self) -> None:
        cache = KeywordCache()
        cache.replace([rule(1, "开户", priority=50), rule(2, "开", "regex", priority=10)])
        assert cache.match("开户").id == 2  # type: ignore[union-attr]
        cache.replace([rule(1, "开户", priority=10), rule(2, "开", "regex", priority=50)])
        assert cache.match("开户").id == 1  # type: ignore[union-attr]
        assert cache.match("开个户").id == 2  # type: ignore[union-attr]

    def test_ties_go_to_the_older_rule(self) -> None:
        cache = KeywordCache()
        cache.replace([rule(2, "a", "regex"), rule(1, "a.*", "regex")])
        assert cache.match("abc").id == 1  # type: ignore[union-attr]

    async def test_refresh_reads_the_database_and_survives_an_outage(
        self, engine: AsyncEngine, truncate_tables: None
    ) -> None:
        sessionmaker = create_sessionmaker(engine)
        async with unit_of_work(sessionmaker) as session:
            await service.create_keyword_reply(session, keyword="持仓", reply_text="查看持仓")
        cache = KeywordCache()

        assert await cache.refresh(sessionmaker) == 1
        assert cache.match("持仓").reply_text == "查看持仓"  # type: ignore[union-attr]

        from app.core.db import create_engine

        dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
        try:
            assert await cache.refresh(create_sessionmaker(dead)) == -1
        finally:
            await dead.dispose()
        assert cache.match("持仓") is not None  # previous rules stay in use
