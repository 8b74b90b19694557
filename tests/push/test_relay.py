"""Outbox relay: committed pending rows reach Redis as id batches and become queued."""

from __future__ import annotations

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select

from app.push import stream
from app.push.models import Delivery
from app.push.relay import relay_once
from tests.push.conftest import add_alert, relay


async def statuses(ctx) -> list[str]:
    async with ctx.sessionmaker() as session:
        return list((await session.scalars(select(Delivery.status).order_by(Delivery.id))).all())


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
