"""Reconciler: stuck rows re-queued after their lease, everything after Redis lost its data."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.push.constants import EPOCH_KEY
from app.push.models import Delivery
from app.push.reconciler import reconcile_once
from app.push.repository import queue_repository
from app.push.worker import run_once
from tests.push.conftest import add_alert, relay


async def reconcile(ctx) -> int:
    return await reconcile_once(ctx.sessionmaker, ctx.redis, clock=ctx.clock, config=ctx.config)


async def statuses(ctx) -> list[str]:
    async with ctx.sessionmaker() as session:
        status = queue_repository(session, cs=False).effective_status()  # as the API shows it
        return list((await session.scalars(select(status).order_by(Delivery.id))).all())


class TestReconcile:
    async def test_everything_is_delivered_after_redis_flushdb(self, ctx, fake_wechat):
        await reconcile(ctx)  # first run: records the epoch
        openids = [f"fan{i}" for i in range(10)]
        await add_alert(ctx.sessionmaker, openids)
        await relay(ctx)
        await ctx.redis.flushdb()  # Redis loses streams, groups, everything

        assert await run_once(ctx) == 0  # nothing left to read; the group is recreated
        assert await reconcile(ctx) == 10  # epoch gone: every queued row back to pending
        assert await ctx.redis.exists(EPOCH_KEY)
        await relay(ctx)
        while await run_once(ctx):
            pass
        assert await statuses(ctx) == ["sent"] * 10
        assert sorted(fake_wechat.seen_per_fan()) == openids

    async def test_queued_rows_within_their_lease_are_left_alone(self, ctx):
        await reconcile(ctx)
        await add_alert(ctx.sessionmaker, ["o1"])
        await relay(ctx)
        assert await reconcile(ctx) == 0
        assert await statuses(ctx) == ["queued"]

    async def test_rows_stuck_past_the_lease_are_requeued(self, ctx, fake_wechat):
        await reconcile(ctx)
        await add_alert(ctx.sessionmaker, ["o1"])
        await relay(ctx)
        await ctx.redis.delete("push:stream:transactional")  # the entry got lost somehow
        ctx.clock.advance(timedelta(seconds=ctx.config.queue_lease_s + 1).total_seconds())

        assert await reconcile(ctx) == 1
        await relay(ctx)
        await run_once(ctx)
        assert await statuses(ctx) == ["sent"]
