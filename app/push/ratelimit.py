"""A token bucket in Redis (one Lua script), shared by every worker that sends templates."""

from __future__ import annotations

from dataclasses import dataclass

from app.core.redis import Redis
from app.core.time import Clock
from app.push.constants import RATE_BUCKET_KEY

RATE_CONFIG_SUFFIX = ":config"
# KEYS[1] bucket, KEYS[2] live config (ops may change rate/burst for all workers at once).
# ARGV: default rate per second, default burst, tokens wanted, now in ms ("" = Redis TIME).
# Returns {granted, ms until the next token when fewer than wanted were granted}.
BUCKET_SCRIPT = """
local rate = tonumber(redis.call('HGET', KEYS[2], 'rate') or ARGV[1])
local burst = tonumber(redis.call('HGET', KEYS[2], 'burst') or ARGV[2])
local want = tonumber(ARGV[3])
if rate <= 0 then return {want, 0} end
if burst < 1 then burst = 1 end
local now
if ARGV[4] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[4])
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
local granted = math.min(want, math.floor(tokens))
tokens = tokens - granted
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(ts))
redis.call('PEXPIRE', KEYS[1], math.max(1000, math.ceil(burst * 1000 / rate) * 2))
local wait = 0
if granted < want then wait = math.ceil((1 - tokens) * 1000 / rate) end
return {granted, wait}
"""


@dataclass(frozen=True, slots=True)
class Grant:
    granted: int
    wait_s: float


class RateLimiter:
    """`rate_per_s <= 0` means no cap. With a `clock`, time comes from it (tests, one host);
    without, from Redis `TIME`, so workers on several hosts share one notion of now."""

    def __init__(
        self,
        redis: Redis,
        *,
        rate_per_s: float,
        burst: int | None = None,
        clock: Clock | None = None,
        key: str = RATE_BUCKET_KEY,
    ) -> None:
        self.redis = redis
        self.rate_per_s = rate_per_s
        # A small burst keeps the rate even over short windows (bench: ±5 % over 60 s).
        self.burst = burst if burst is not None else max(1, int(rate_per_s / 10))
        self.clock = clock
        self.key = key
        self._script = redis.register_script(BUCKET_SCRIPT)

    async def acquire(self, want: int) -> Grant:
        """Take up to `want` tokens now; `wait_s` says when asking again can succeed."""
        if want <= 0:
            return Grant(0, 0.0)
        now = "" if self.clock is None else str(int(self.clock.timestamp() * 1000))
        keys = [self.key, self.key + RATE_CONFIG_SUFFIX]
        args = [repr(float(self.rate_per_s)), str(self.burst), str(want), now]
        granted, wait_ms = await self._script(keys=keys, args=args)
        return Grant(int(granted), int(wait_ms) / 1000.0)


async def set_rate_limit(
    redis: Redis, *, rate_per_s: float, burst: int | None = None, key: str = RATE_BUCKET_KEY
) -> None:
    """Change the cap for every running worker at once (0 lifts it)."""
    size = burst if burst is not None else max(1, int(rate_per_s / 10))
    await redis.hset(key + RATE_CONFIG_SUFFIX, mapping={"rate": repr(rate_per_s), "burst": size})


async def clear_rate_limit(redis: Redis, *, key: str = RATE_BUCKET_KEY) -> None:
    """Back to each worker's configured default."""
    await redis.delete(key + RATE_CONFIG_SUFFIX)
