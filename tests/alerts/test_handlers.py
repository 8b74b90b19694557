"""Fan text commands routed through the WeChatRouter: watchlist, topics, quiet hours."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.alerts import handlers, service
from app.alerts.constants import Category
from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.core.redis import Redis
from app.core.time import FakeClock
from app.webhook.service import WebhookContext, WeChatRouter
from app.wechat.messages import TextMessage
from app.wechat.replies import TextReply

FAN = "oFanCmd0001"


@pytest.fixture
def sessionmaker(engine: AsyncEngine, truncate_tables: None) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def router() -> WeChatRouter:
    r = WeChatRouter()
    handlers.register(r)
    return r


@pytest.fixture
def say(
    router: WeChatRouter,
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    redis: Redis,
    clock: FakeClock,
):
    async def send(text: str) -> str | None:
        msg = TextMessage(
            to_user="gh_test", from_user=FAN, create_time=1, msg_type="text", content=text, msg_id=1
        )
        ctx = WebhookContext(settings, sessionmaker, redis, clock, state=None)
        reply = await router.dispatch(ctx, msg)
        assert reply is None or isinstance(reply, TextReply)
        return reply.content if reply else None

    return send


async def _watchlist(sessionmaker: async_sessionmaker[AsyncSession]):
    async with sessionmaker() as session:
        return await service.list_watchlist(session, openid=FAN)


async def _prefs(sessionmaker: async_sessionmaker[AsyncSession]):
    async with sessionmaker() as session:
        return await service.get_preferences(session, openid=FAN)


class TestWatchCommands:
    async def test_add_then_remove(self, say, sessionmaker) -> None:
        assert "已将 600519 加入自选" in await say("自选 600519")
        assert [i.security_code for i in await _watchlist(sessionmaker)] == ["600519"]
        assert await say("取消自选 600519") == "已将 600519 移出自选。"
        assert await _watchlist(sessionmaker) == []

    async def test_remove_unknown_security_says_so(self, say) -> None:
        assert await say("取消自选 000001") == "000001 不在您的自选中。"

    async def test_price_threshold(self, say, sessionmaker) -> None:
        reply = await say("自选 600519 高于 1800.5")
        assert reply == "已设置 600519 提醒：价格高于 1800.5 元。"
        [item] = await _watchlist(sessionmaker)
        assert item.above_price == Decimal("1800.5")

    async def test_thresholds_accumulate(self, say, sessionmaker) -> None:
        await say("自选 600519 高于 1800")
        reply = await say("自选600519 低于 1500")
        assert reply == "已设置 600519 提醒：价格高于 1800 元，价格低于 1500 元。"

    async def test_percent_threshold(self, say, sessionmaker) -> None:
        assert "涨跌幅超过 5%" in await say("自选 600519 涨跌 5%")
        [item] = await _watchlist(sessionmaker)
        assert item.change_pct == Decimal(5)

    async def test_out_of_range_percent_gets_usage_help(self, say) -> None:
        assert "格式示例" in await say("自选 600519 涨跌 500")

    async def test_list(self, say) -> None:
        assert "还没有自选股" in await say("我的自选")
        await say("自选 600519 高于 1800")
        await say("自选 000001")
        assert await say("自选") == "您的自选：\n600519 价格高于 1800 元\n000001"

    async def test_unrelated_text_is_not_taken(self, say) -> None:
        assert await say("自选股怎么设置") is None
        assert await say("取消自选") is None


class TestTopicCommands:
    async def test_unsubscribe_and_subscribe_a_category(self, say, sessionmaker) -> None:
        assert await say("退订 新股") == "已关闭新股提醒。"
        assert (await _prefs(sessionmaker)).categories[Category.IPO] is False
        assert await say("订阅 新股") == "已开启新股提醒。"
        assert (await _prefs(sessionmaker)).categories[Category.IPO] is True

    async def test_marketing_opt_in(self, say, sessionmaker) -> None:
        assert await say("订阅 活动") == "已开启活动资讯。"
        assert (await _prefs(sessionmaker)).categories[Category.MARKETING] is True

    async def test_unknown_category_gets_help(self, say) -> None:
        assert "可订阅" in await say("订阅 彩票")


class TestQuietCommands:
    async def test_set_and_clear_quiet_hours(self, say, sessionmaker) -> None:
        assert "22:00-8:00" in await say("免打扰 22-8")
        prefs = await _prefs(sessionmaker)
        assert (prefs.quiet_start_hour, prefs.quiet_end_hour) == (22, 8)
        assert await say("关闭免打扰") == "已关闭免打扰。"
        assert (await _prefs(sessionmaker)).quiet_start_hour is None

    @pytest.mark.parametrize("text", ["免打扰", "免打扰 8-8", "免打扰 25-3"])
    async def test_bad_quiet_hours_reply_with_usage(self, say, text: str) -> None:
        assert "格式示例" in await say(text)
