"""Dead letters read from PostgreSQL: what the worker dead-lettered, even after Redis lost it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import create_engine
from app.core.migrate import run_on_engine
from app.push import service
from app.push.constants import DEAD_LETTER_KEY
from app.push.errors import DeliveryNotFoundError, NotADeadLetterError
from app.push.models import Alert
from app.push.worker import WorkerContext
from tests.push.conftest import FakeWeChat, add_alert, add_send_outcome, api_error
from tests.push.test_worker import drain, rows


async def dead_letter(ctx: WorkerContext, fake_wechat: FakeWeChat, openid: str) -> int:
    """A delivery the worker dead-letters: a configuration error (40037, ops can fix it)."""
    fake_wechat.fail(openid, api_error(40037))
    _, [delivery_id] = await add_alert(ctx.sessionmaker, [openid])
    await drain(ctx)
    return delivery_id


async def listed(ctx: WorkerContext) -> list[int]:
    async with ctx.sessionmaker() as session:
        page = await service.list_dead_letters(session)
    assert page.total == len(page.items)
    return [item.delivery_id for item in page.items]


class TestListDeadLetters:
    async def test_lists_dead_lettered_sends_masked_with_their_error(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        delivery_id = await dead_letter(ctx, fake_wechat, "oDeadLetterFan0001")

        async with ctx.sessionmaker() as session:
            page = await service.list_dead_letters(session)

        assert page.total == 1
        item = page.items[0]
        assert (item.delivery_id, item.alert_type, item.template_id) == (
            delivery_id,
            "trade_fill",
            "TPL_FILL",
        )
        assert (item.errcode, item.attempts) == (40037, 1)
        assert item.failed_at == ctx.clock.now()
        assert item.openid_masked != "oDeadLetterFan0001"
        assert "oDeadLetterFan0001" not in item.model_dump_json()

    async def test_permanent_failures_are_not_dead_letters(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        fake_wechat.fail("gone", api_error(43004))  # the fan unfollowed: nothing to re-drive
        await add_alert(ctx.sessionmaker, ["gone", "fine"])
        await drain(ctx)
        assert await listed(ctx) == []

    async def test_exhausted_retries_are_dead_letters(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        fake_wechat.fail("o1", *[api_error(-1)] * 5)
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["o1"])
        for _ in range(5):
            await drain(ctx)
            ctx.clock.advance(60)
        assert await listed(ctx) == [delivery_id]

    async def test_survive_redis_losing_its_list_and_are_redriven_from_postgresql(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        delivery_id = await dead_letter(ctx, fake_wechat, "o1")
        assert await ctx.redis.llen(DEAD_LETTER_KEY) == 1
        await ctx.redis.delete(DEAD_LETTER_KEY)  # Redis lost it (FLUSHALL, failover)

        assert await listed(ctx) == [delivery_id]
        assert await service.redrive_dead_letters(ctx.sessionmaker, ctx.redis, clock=ctx.clock) == 1
        await drain(ctx)
        assert (await rows(ctx))[delivery_id].status == "sent"
        assert await listed(ctx) == []

    async def test_a_redriven_send_that_then_fails_for_good_leaves_the_list(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        delivery_id = await dead_letter(ctx, fake_wechat, "o1")
        fake_wechat.fail("o1", api_error(43004))
        async with ctx.sessionmaker() as session:
            await service.redrive_dead_letter(session, delivery_id, now=ctx.clock.now())
            await session.commit()
        await drain(ctx)
        assert (await rows(ctx))[delivery_id].status == "failed"
        assert await listed(ctx) == []
        # Its stale member on the Redis list re-drives nothing: PostgreSQL decides.
        assert await service.redrive_dead_letters(ctx.sessionmaker, ctx.redis, clock=ctx.clock) == 0
        assert await ctx.redis.llen(DEAD_LETTER_KEY) == 0


class TestRedriveOne:
    async def test_resets_one_dead_letter_and_the_worker_sends_it(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        first = await dead_letter(ctx, fake_wechat, "o1")
        second = await dead_letter(ctx, fake_wechat, "o2")

        async with ctx.sessionmaker() as session:
            before = await service.redrive_dead_letter(session, first, now=ctx.clock.now())
            await session.commit()
        await drain(ctx)

        assert (before.delivery_id, before.errcode) == (first, 40037)
        by_id = await rows(ctx)
        assert (by_id[first].status, by_id[first].attempts) == ("sent", 1)
        assert await listed(ctx) == [second]

    async def test_refuses_a_delivery_that_is_not_dead_lettered(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        _, [sent] = await add_alert(ctx.sessionmaker, ["o1"])
        await drain(ctx)
        async with ctx.sessionmaker() as session:
            with pytest.raises(NotADeadLetterError):
                await service.redrive_dead_letter(session, sent, now=ctx.clock.now())
            with pytest.raises(DeliveryNotFoundError):
                await service.redrive_dead_letter(session, 987654, now=ctx.clock.now())


@pytest.mark.embedded
async def test_the_same_queries_run_on_sqlite(tmp_path: Path) -> None:
    """The embedded default (SQLite): list, count and re-drive one, as the worker leaves rows."""
    lite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'dead_letters.sqlite'}")
    await run_on_engine(lite, "upgrade", "head")
    at = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
    try:
        async with AsyncSession(lite, expire_on_commit=False) as session:
            alert = Alert(type="trade_fill", severity="transactional", payload={})
            session.add(alert)
            await session.flush()
            ids = []
            for openid, detail in (
                ("o1", "retries exhausted: dead-lettered"),
                ("o2", "permanent error"),
            ):
                delivery_id = await add_send_outcome(
                    session, alert_id=alert.id, openid=openid, status="failed", at=at,
                    detail=detail,
                )  # fmt: skip
                ids.append(delivery_id)
            await session.commit()

            page = await service.list_dead_letters(session)
            assert (page.total, [i.delivery_id for i in page.items]) == (1, [ids[0]])
            assert page.items[0].failed_at == at
            await service.redrive_dead_letter(session, ids[0], now=at)
            await session.commit()
            assert await service.count_dead_letters(session) == 0
    finally:
        await lite.dispose()
