"""DedupeStore on the real Redis: claims, shared replies across instances, failing open."""

from __future__ import annotations

import asyncio

import pytest

from app.core.redis import Redis, create_redis
from app.webhook.dedupe import KEY_PREFIX, DedupeStore, SetBatcher


class TestClaim:
    async def test_only_the_first_claim_wins_and_the_key_has_a_ttl(self, redis: Redis) -> None:
        store = DedupeStore(redis, ttl_s=60)

        assert await store.claim("m:1") is True
        assert await store.claim("m:1") is False
        assert 0 < await redis.ttl(KEY_PREFIX + "m:1") <= 60

    async def test_another_instance_cannot_claim_either(self, redis: Redis) -> None:
        first, second = DedupeStore(redis, ttl_s=60), DedupeStore(redis, ttl_s=60)

        assert await first.claim("m:2") is True
        assert await second.claim("m:2") is False
        assert second.inflight == 0

    async def test_claims_issued_together_share_a_pipeline_and_stay_exact(
        self, redis: Redis
    ) -> None:
        stores = [DedupeStore(redis, ttl_s=60) for _ in range(3)]  # three "instances"
        keys = [f"m:batch:{i % 4}" for i in range(12)]

        results = await asyncio.gather(*(stores[i % 3].claim(key) for i, key in enumerate(keys)))

        winners = sorted(key for key, won in zip(keys, results, strict=True) if won)
        assert winners == [f"m:batch:{i}" for i in range(4)]

    async def test_redis_down_fails_open(self) -> None:
        broken = create_redis("redis://127.0.0.1:1/0")
        try:
            assert await DedupeStore(broken, ttl_s=60).claim("m:3") is True
        finally:
            await broken.aclose()


class TestSharedReply:
    async def test_a_waiter_in_this_process_gets_the_reply(self, redis: Redis) -> None:
        store = DedupeStore(redis, ttl_s=60)
        await store.claim("m:4")
        waiter = asyncio.create_task(store.wait_for_reply("m:4", 5.0))

        store.store_reply("m:4", b"<xml>reply</xml>")

        assert await waiter == b"<xml>reply</xml>"
        assert store.inflight == 0

    async def test_a_waiter_in_another_instance_polls_for_the_reply(self, redis: Redis) -> None:
        owner, other = DedupeStore(redis, ttl_s=60), DedupeStore(redis, ttl_s=60)
        await owner.claim("m:5")
        assert await other.claim("m:5") is False
        waiter = asyncio.create_task(other.wait_for_reply("m:5", 5.0))

        owner.store_reply("m:5", b"")  # `success`

        assert await waiter == b""

    async def test_a_waiter_gives_up_at_its_deadline(self, redis: Redis) -> None:
        owner, other = DedupeStore(redis, ttl_s=60), DedupeStore(redis, ttl_s=60)
        await owner.claim("m:6")

        assert await other.wait_for_reply("m:6", 0.0) is None
        assert await owner.wait_for_reply("m:6", 0.0) is None

    async def test_an_expired_key_has_nothing_to_share(self, redis: Redis) -> None:
        assert await DedupeStore(redis, ttl_s=60).wait_for_reply("m:7", 1.0) is None

    async def test_a_completed_delivery_is_shared_after_the_fact(self, redis: Redis) -> None:
        owner, other = DedupeStore(redis, ttl_s=60), DedupeStore(redis, ttl_s=60)
        await owner.claim("m:8")
        owner.store_reply("m:8", b"<xml>done</xml>")
        await owner.drain()

        assert await other.claim("m:8") is False
        assert await other.wait_for_reply("m:8", 1.0) == b"<xml>done</xml>"


class TestSetBatcher:
    """SETs issued in one loop iteration go to Redis as one script call."""

    @pytest.fixture(params=["real", "memory://"])
    def client(self, request: pytest.FixtureRequest, redis: Redis) -> Redis:
        """The real Redis, and the embedded default's in-process stand-in."""
        return redis if request.param == "real" else create_redis(request.param)

    async def test_one_batch_claims_stores_and_respects_existing_keys(self, client: Redis) -> None:
        await client.set("k-taken", b"first")
        batcher = SetBatcher(client, ttl_s=60)
        batcher.set_later("k-reply", b"<xml/>")
        results = await asyncio.gather(
            batcher.set_nx("k-new", b"\x00"), batcher.set_nx("k-taken", b"\x00")
        )
        await batcher.drain()
        assert results == [True, False]
        assert await client.get("k-taken") == b"first"
        assert await client.get("k-new") == b"\x00"
        assert await client.get("k-reply") == b"<xml/>"
        assert 0 < await client.ttl("k-new") <= 60

    async def test_claims_read_their_keys_in_the_same_script_only_when_they_win(
        self, client: Redis
    ) -> None:
        await client.set("k-held", b"\x00")
        await client.set("r-a", b"alpha")
        batcher = SetBatcher(client, ttl_s=60)
        batcher.set_later("k-store", b"<xml/>")
        results = await asyncio.gather(
            batcher.set_nx_reading("k-won", b"\x00", ["r-a", "r-missing"]),
            batcher.set_nx_reading("k-held", b"\x00", ["r-a"]),
            batcher.set_nx("k-plain", b"\x00"),
        )
        await batcher.drain()
        assert results == [(True, [b"alpha", None]), (False, []), True]
        assert await client.get("k-store") == b"<xml/>"


class TestClaimReading:
    async def test_the_owner_gets_the_values_and_a_retry_gets_none(self, redis: Redis) -> None:
        first, second = DedupeStore(redis, ttl_s=60), DedupeStore(redis, ttl_s=60)
        await redis.set("cache:1", b"cached")

        owned = await first.claim_reading("m:r1", ["cache:1", "cache:2"])
        retried = await second.claim_reading("m:r1", ["cache:1"])
        again_here = await first.claim_reading("m:r1", ["cache:1"])

        assert owned == (True, {"cache:1": b"cached", "cache:2": None})
        assert retried == (False, {})
        assert again_here == (False, {})

    async def test_a_lone_claim_with_reads_still_reads(self, redis: Redis) -> None:
        await redis.set("cache:3", b"v")
        assert await DedupeStore(redis, ttl_s=60).claim_reading("m:r2", ["cache:3"]) == (
            True,
            {"cache:3": b"v"},
        )

    async def test_redis_down_fails_open_without_values(self) -> None:
        broken = create_redis("redis://127.0.0.1:1/0")
        try:
            store = DedupeStore(broken, ttl_s=60)
            assert await store.claim_reading("m:r3", ["cache:4"]) == (True, {})
        finally:
            await broken.aclose()
