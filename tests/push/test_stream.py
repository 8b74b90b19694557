"""Streams plumbing: a blocked read survives its stream key vanishing (FLUSHDB, DEL)."""

from __future__ import annotations

import asyncio

from app.core.redis import create_redis
from app.push import stream
from app.push.constants import GROUP, STREAMS
from tests.conftest import REDIS_URL


class TestBlockedRead:
    async def test_stream_deleted_under_a_blocked_read_recreates_the_group(self, push_redis):
        reader = create_redis(REDIS_URL)
        # Server-wide count: another process's blocked read (any DB) must not end the wait early.
        others = await _blocked_clients(push_redis)
        try:
            blocked = asyncio.create_task(
                stream.read_batch(reader, "w1", max_entries=10, block_ms=30_000)
            )
            while await _blocked_clients(push_redis) <= others:  # noqa: ASYNC110 - Redis state
                await asyncio.sleep(0.01)
            await push_redis.delete(
                *STREAMS.values()
            )  # Redis answers: UNBLOCKED … no longer exists

            assert await asyncio.wait_for(blocked, 10) == []
            groups = await push_redis.xinfo_groups(STREAMS["critical"])
            assert [g["name"] for g in groups] == [GROUP.encode()]
        finally:
            await reader.aclose()


async def _blocked_clients(redis) -> int:
    return int((await redis.info("clients"))["blocked_clients"])
