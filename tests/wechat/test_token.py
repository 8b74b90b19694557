"""SharedCredential on the real test Redis: one fetch, reuse, compare-and-delete, fallback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.core.redis import Redis, create_redis
from app.core.time import FakeClock
from app.wechat.errors import ErrorKind, TokenUnavailableError, WeChatApiError, WeChatTransportError
from app.wechat.token import CredentialTiming, IssuedCredential, SharedCredential

KEY = "wechat:wxtest:stable_token"


class CountingIssuer:
    """Stands in for WeChat's token endpoint: numbered tokens, optional failures."""

    def __init__(self, expires_in: int = 7200) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self) -> IssuedCredential:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        return IssuedCredential(value=f"TOKEN-{self.calls}", expires_in=self.expires_in)


def make_credential(
    redis: Redis, issuer: CountingIssuer, clock: FakeClock | None = None, **timing: float
) -> SharedCredential:
    return SharedCredential(
        key=KEY, redis=redis, fetch=issuer, clock=clock, timing=CredentialTiming(**timing)
    )


@pytest.fixture
async def small_pool_redis(redis: Redis) -> AsyncIterator[Redis]:
    """The test Redis DB through a 4-connection pool: a burst beyond it raises ConnectionError."""
    from tests.conftest import REDIS_URL

    client = Redis.from_url(REDIS_URL, max_connections=4)
    yield client
    await client.aclose()


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    """A client pointed at a closed port: every command raises ConnectionError."""
    client = create_redis("redis://127.0.0.1:1/0")
    yield client
    await client.aclose()


class TestGet:
    async def test_first_get_fetches_and_stores_in_redis(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        credential = make_credential(redis, issuer)
        assert await credential.get() == "TOKEN-1"
        assert await credential.peek() == "TOKEN-1"
        ttl = await redis.pttl(KEY)
        assert 7000_000 < ttl <= 7140_000  # WeChat's 7200 s minus the expiry margin

    async def test_another_process_reuses_the_stored_token(self, redis: Redis) -> None:
        first, second = CountingIssuer(), CountingIssuer()
        assert await make_credential(redis, first).get() == "TOKEN-1"
        assert await make_credential(redis, second).get() == "TOKEN-1"
        assert second.calls == 0

    async def test_concurrent_callers_in_two_processes_cause_one_fetch(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        issuer.gate = asyncio.Event()
        a, b = make_credential(redis, issuer), make_credential(redis, issuer)
        calls = [asyncio.ensure_future(c.get()) for c in (a, b) for _ in range(50)]
        await issuer.entered.wait()
        issuer.gate.set()
        assert set(await asyncio.gather(*calls)) == {"TOKEN-1"}
        assert issuer.calls == 1

    async def test_waiter_gives_up_when_the_lock_holder_never_stores(self, redis: Redis) -> None:
        await redis.set(f"{KEY}:lock", "someone-else", px=60_000)
        credential = make_credential(redis, CountingIssuer(), wait_timeout_s=0.05)
        with pytest.raises(TokenUnavailableError):
            await credential.get()

    async def test_lock_is_released_after_a_failed_fetch(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        issuer.fail_with = WeChatTransportError("/cgi-bin/stable_token", "timeout")
        credential = make_credential(redis, issuer)
        with pytest.raises(WeChatTransportError):
            await credential.get()
        assert await redis.exists(f"{KEY}:lock") == 0
        issuer.fail_with = None
        assert await credential.get() == "TOKEN-2"


class TestRefreshAhead:
    async def test_one_process_refreshes_before_expiry_and_the_other_picks_it_up(
        self, redis: Redis, clock: FakeClock
    ) -> None:
        issuer = CountingIssuer()
        a, b = make_credential(redis, issuer, clock), make_credential(redis, issuer, clock)
        assert await a.get() == "TOKEN-1"
        clock.advance(7200 - 60 - 300 + 1)  # inside the refresh-ahead window, still valid
        assert await a.get() == "TOKEN-1"  # served at once; the refresh runs in the background
        assert a.refreshing is not None
        await a.refreshing
        assert await a.get() == "TOKEN-2"
        assert await b.get() == "TOKEN-2"
        assert issuer.calls == 2

    async def test_failed_early_refresh_keeps_the_current_value(
        self, redis: Redis, clock: FakeClock
    ) -> None:
        issuer = CountingIssuer()
        credential = make_credential(redis, issuer, clock)
        await credential.get()
        clock.advance(7200 - 60 - 300 + 1)
        issuer.fail_with = WeChatTransportError("/cgi-bin/stable_token", "timeout")
        assert await credential.get() == "TOKEN-1"
        assert credential.refreshing is not None
        await credential.refreshing
        assert await credential.get() == "TOKEN-1"
        assert await redis.exists(f"{KEY}:lock") == 0

    async def test_memo_is_reused_without_redis_until_it_goes_stale(
        self, redis: Redis, clock: FakeClock
    ) -> None:
        credential = make_credential(redis, CountingIssuer(), clock)
        assert await credential.get() == "TOKEN-1"
        await redis.hset(KEY, "v", "ROTATED")
        assert await credential.get() == "TOKEN-1"  # within local_ttl_s: no Redis read
        clock.advance(2)
        assert await credential.get() == "ROTATED"

    async def test_short_lived_credentials_still_get_a_sane_refresh_point(
        self, redis: Redis, clock: FakeClock
    ) -> None:
        issuer = CountingIssuer(expires_in=300)
        credential = make_credential(redis, issuer, clock)
        await credential.get()
        clock.advance(30)
        await credential.get()
        assert issuer.calls == 1


class TestInvalidate:
    async def test_deletes_only_the_token_that_failed(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        credential = make_credential(redis, issuer)
        await credential.get()
        await credential.invalidate("SOME-OLDER-TOKEN")
        assert await credential.peek() == "TOKEN-1"
        await credential.invalidate("TOKEN-1")
        assert await credential.peek() is None
        assert await credential.get() == "TOKEN-2"

    async def test_second_process_does_not_throw_away_a_fresh_token(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        a, b = make_credential(redis, issuer), make_credential(redis, issuer)
        await a.get()
        await b.get()
        await a.invalidate("TOKEN-1")
        assert await a.get() == "TOKEN-2"
        await b.invalidate("TOKEN-1")  # b saw the same failure, but a already replaced it
        assert await b.get() == "TOKEN-2"
        assert issuer.calls == 2


class TestConfigurationErrors:
    async def test_configuration_error_is_remembered_so_nobody_loops_fetches(
        self, redis: Redis
    ) -> None:
        issuer = CountingIssuer()
        issuer.fail_with = WeChatApiError(40164, "invalid ip", "/cgi-bin/token")
        with pytest.raises(WeChatApiError) as first:
            await make_credential(redis, issuer).get()
        with pytest.raises(WeChatApiError) as second:
            await make_credential(redis, issuer).get()
        assert first.value.kind is ErrorKind.CONFIGURATION
        assert second.value.errcode == 40164
        assert issuer.calls == 1

    async def test_transient_errors_are_not_remembered(self, redis: Redis) -> None:
        issuer = CountingIssuer()
        issuer.fail_with = WeChatApiError(-1, "busy", "/cgi-bin/token")
        with pytest.raises(WeChatApiError):
            await make_credential(redis, issuer).get()
        issuer.fail_with = None
        assert await make_credential(redis, issuer).get() == "TOKEN-2"


class TestManyCallers:
    async def test_a_burst_reads_redis_once_per_process(self, small_pool_redis: Redis) -> None:
        """500 callers with a stale memo must not need 500 Redis connections (pool limit)."""
        issuer = CountingIssuer()
        await make_credential(small_pool_redis, issuer).get()
        fresh = make_credential(small_pool_redis, issuer)
        results = await asyncio.gather(*(fresh.get() for _ in range(500)))
        assert set(results) == {"TOKEN-1"}
        assert fresh.fetch_count == 0
        assert not fresh.using_local_fallback


class TestRedisDown:
    async def test_falls_back_to_a_local_token(self, dead_redis: Redis, clock: FakeClock) -> None:
        issuer = CountingIssuer()
        credential = make_credential(dead_redis, issuer, clock)
        assert await credential.get() == "TOKEN-1"
        assert credential.using_local_fallback
        assert await credential.get() == "TOKEN-1"
        clock.advance(10)  # past redis_retry_after_s: Redis is tried again, still down
        assert await credential.get() == "TOKEN-1"
        assert issuer.calls == 1

    async def test_local_invalidate_then_refetch(self, dead_redis: Redis) -> None:
        issuer = CountingIssuer()
        credential = make_credential(dead_redis, issuer)
        assert await credential.get() == "TOKEN-1"
        await credential.invalidate("TOKEN-1")
        assert await credential.get() == "TOKEN-2"

    async def test_local_refresh_ahead_of_expiry(self, dead_redis: Redis, clock: FakeClock) -> None:
        issuer = CountingIssuer()
        credential = make_credential(dead_redis, issuer, clock)
        await credential.get()
        clock.advance(7200 - 60 - 300 + 1)
        assert await credential.get() == "TOKEN-1"
        assert credential.refreshing is not None
        await credential.refreshing
        assert await credential.get() == "TOKEN-2"
        clock.advance(7200)  # and a value past its expiry is never served
        assert await credential.get() == "TOKEN-3"

    async def test_concurrent_local_callers_share_one_fetch(self, dead_redis: Redis) -> None:
        issuer = CountingIssuer()
        credential = make_credential(dead_redis, issuer)
        results = await asyncio.gather(*(credential.get() for _ in range(30)))
        assert set(results) == {"TOKEN-1"}
        assert issuer.calls == 1


class TestInvalidateBurst:
    async def test_many_callers_failing_with_one_token_cause_one_refresh(
        self, small_pool_redis: Redis
    ) -> None:
        issuer = CountingIssuer()
        credential = make_credential(small_pool_redis, issuer)
        failed = await credential.get()
        await asyncio.gather(*(credential.invalidate(failed) for _ in range(500)))
        results = await asyncio.gather(*(credential.get() for _ in range(500)))
        assert set(results) == {"TOKEN-2"}
        assert issuer.calls == 2
        assert not credential.using_local_fallback
