"""Outbox relay: committed pending rows reach Redis as id batches and become queued."""

from __future__ import annotations

import asyncio
import math
from dataclasses import replace

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.push import service, stream
from app.push.constants import PushConfig
from app.push.models import Delivery
from app.push.relay import idle_wait_s, relay_once, tick_config
from app.push.repository import queue_repository
from tests.push.conftest import add_alert, relay


async def until_the_relay_waits(session: AsyncSession) -> None:
    """pg_locks is the only place another connection's waiting shows."""
    query = text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
    while not await session.scalar(query):  # noqa: ASYNC110 - waiting on another connection
        await asyncio.sleep(0.01)


async def statuses(ctx) -> list[str]:
    async with ctx.sessionmaker() as session:
        status = queue_repository(session, cs=False).effective_status()  # as the API shows it
        return list((await session.scalars(select(status).order_by(Delivery.id))).all())


class BrokenPipeline:
    """A Redis whose writes fail (server gone) — only what the relay touches."""

    def pipeline(self, transaction: bool = False):
        raise RedisConnectionError("connection refused")


class TestRelayOnce:
    async def test_pending_ids_go_to_their_lane_in_batches_and_become_queued(self, ctx):
        _, ids = await add_alert(ctx.sessionmaker, ["a", "b", "c", "d", "e"], severity="critical")
        assert await relay(ctx) == 5
        assert await statuses(ctx) == ["queued"] * 5

        entries = await stream.read_batch(ctx.redis, "t", max_entries=10, block_ms=None)
        assert [e.lane for e in entries] == ["critical", "critical"]
        assert [i for e in entries for i in e.ids] == ids  # 3 + 2 ids per entry, ids only
        assert await relay(ctx) == 0  # nothing relayed twice

    async def test_redis_failure_puts_rows_back_to_pending(self, ctx):
        await add_alert(ctx.sessionmaker, ["a", "b"])
        with pytest.raises(RedisConnectionError):
            await relay_once(ctx.sessionmaker, BrokenPipeline(), clock=ctx.clock, config=ctx.config)
        assert await statuses(ctx) == ["pending", "pending"]
        assert await relay(ctx) == 2

    async def test_large_backlogs_are_relayed_in_several_transactions(self, ctx):
        await add_alert(ctx.sessionmaker, [f"fan{i}" for i in range(250)])  # relay_batch = 100
        assert await relay(ctx) == 250
        assert set(await statuses(ctx)) == {"queued"}


async def relayed_ids(ctx) -> list[int]:
    entries = await stream.read_batch(ctx.redis, "t", max_entries=100, block_ms=None)
    return sorted(i for e in entries for i in e.ids)


class TestRelayCursor:
    async def test_a_producer_committing_late_below_the_cursor_is_never_skipped(self, ctx):
        # Producer A takes its ids first but commits last; B commits ids above A's meanwhile.
        async with ctx.sessionmaker() as slow:
            alert = await service.create_alert(
                slow, alert_type="trade_fill", severity="transactional", payload={}
            )
            await service.create_deliveries(
                slow, alert=alert, template_id="T", recipients=[("late", {"k": "v"})]
            )
            _, fast_ids = await add_alert(ctx.sessionmaker, ["early1", "early2"])
            assert await relay(ctx) == 0  # A is in flight: the cursor may not pass B's ids yet
            await slow.commit()
        assert await relay(ctx) == 3
        late_ids = sorted(set(await relayed_ids(ctx)) - set(fast_ids))
        assert len(late_ids) == 1
        assert late_ids[0] < min(fast_ids)
        assert await statuses(ctx) == ["queued"] * 3
        assert await relay(ctx) == 0

    async def test_relay_queues_for_a_producer_in_flight_instead_of_giving_up(self, ctx):
        ctx.config = replace(ctx.config, horizon_wait_s=30.0)  # a safety net, not a timing
        await add_alert(ctx.sessionmaker, ["early"])
        async with ctx.sessionmaker() as slow:
            alert = await service.create_alert(
                slow, alert_type="trade_fill", severity="transactional", payload={}
            )
            await service.create_deliveries(
                slow, alert=alert, template_id="T", recipients=[("late", {"k": "v"})]
            )
            relaying = asyncio.create_task(relay(ctx))
            await asyncio.wait_for(until_the_relay_waits(slow), 30)
            await slow.commit()  # the producer finishes while the relay waits: same tick
            assert await asyncio.wait_for(relaying, 30) == 2
        assert await statuses(ctx) == ["queued"] * 2

    async def test_relaying_marks_no_row(self, ctx):
        """The hot path writes the cursor only; the claim sets `queued_at` lazily."""
        await add_alert(ctx.sessionmaker, ["a", "b", "c"])
        assert await relay(ctx) == 3
        async with ctx.sessionmaker() as session:
            stored = (await session.execute(select(Delivery.status, Delivery.queued_at))).all()
        assert stored == [("pending", None)] * 3


class TestIdleWait:
    def test_polls_fast_while_producers_are_active_and_slowly_when_idle(self):
        config = PushConfig(relay_interval_s=0.2, relay_busy_interval_s=0.03, relay_busy_window_s=2)
        assert idle_wait_s(config, since_moved_s=0.5) == 0.03
        assert idle_wait_s(config, since_moved_s=2.5) == 0.2
        assert idle_wait_s(config, since_moved_s=math.inf) == 0.2  # never moved anything


class TestTickConfig:
    def test_only_one_tick_per_period_queues_for_the_producers_lock(self):
        config = PushConfig(horizon_wait_s=0.05, horizon_wait_every_s=0.5)
        first, next_at = tick_config(config, now=10.0, next_wait_at=-math.inf)
        assert (first.horizon_wait_s, next_at) == (0.05, 10.5)
        soon, still = tick_config(config, now=10.2, next_wait_at=next_at)
        assert (soon.horizon_wait_s, still) == (0.0, 10.5)  # only tries: never blocks producers
        later, after = tick_config(config, now=10.6, next_wait_at=still)
        assert (later.horizon_wait_s, after) == (0.05, 11.1)
