"""The shared token bucket in Redis."""

from __future__ import annotations

import asyncio

from app.push.ratelimit import RateLimiter, clear_rate_limit, set_rate_limit


class TestRateLimiter:
    async def test_grants_the_burst_then_refills_at_the_rate(self, redis, clock):
        limiter = RateLimiter(redis, rate_per_s=100, burst=10, clock=clock)
        first = await limiter.acquire(25)
        assert (first.granted, first.wait_s) == (10, 0.01)

        clock.advance(0.05)  # 5 tokens refilled
        assert (await limiter.acquire(25)).granted == 5
        clock.advance(10)  # refill caps at the burst
        assert (await limiter.acquire(25)).granted == 10

    async def test_workers_share_one_bucket(self, redis, clock):
        a = RateLimiter(redis, rate_per_s=50, burst=5, clock=clock)
        b = RateLimiter(redis, rate_per_s=50, burst=5, clock=clock)
        grants = await asyncio.gather(*(x.acquire(1) for x in [a, b] * 5))
        assert sum(g.granted for g in grants) == 5

    async def test_rate_holds_over_a_simulated_minute(self, redis, clock):
        limiter = RateLimiter(redis, rate_per_s=500, clock=clock)
        sent = 0
        for _ in range(60_00):  # 10 ms ticks, always asking for more than the rate allows
            sent += (await limiter.acquire(50)).granted
            clock.advance(0.01)
        assert abs(sent - 500 * 60) <= 500 * 60 * 0.05

    async def test_zero_rate_means_no_cap(self, redis, clock):
        limiter = RateLimiter(redis, rate_per_s=0, clock=clock)
        assert (await limiter.acquire(10_000)).granted == 10_000

    async def test_live_limit_overrides_every_workers_default(self, redis, clock):
        limiter = RateLimiter(redis, rate_per_s=0, clock=clock)
        await set_rate_limit(redis, rate_per_s=10, burst=2)
        assert (await limiter.acquire(100)).granted == 2
        await clear_rate_limit(redis)
        assert (await limiter.acquire(100)).granted == 100

    async def test_uses_redis_time_without_a_clock(self, redis):
        limiter = RateLimiter(redis, rate_per_s=0.001, burst=3)
        assert (await limiter.acquire(5)).granted == 3
        assert (await limiter.acquire(5)).granted == 0
