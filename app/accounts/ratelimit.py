"""Fixed-window counters in Redis for the binding limits (per openid, account and phone).

Subjects are hashed into the key, so Redis never holds account or phone numbers. Every instance
shares the counters, so the limits hold however many api processes run.
"""

from __future__ import annotations

import hashlib

from app.accounts.constants import Limit
from app.core.redis import Redis
from app.core.time import Clock

PREFIX = "accounts:rl"
LOCK_PREFIX = "accounts:lock"


def _subject(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:24]


class RateLimiter:
    def __init__(self, redis: Redis, clock: Clock) -> None:
        self.redis = redis
        self.clock = clock

    def _window(self, limit: Limit, subject: str) -> tuple[str, int]:
        now = int(self.clock.timestamp())
        index, into = divmod(now, limit.window_s)
        key = f"{PREFIX}:{limit.name}:{_subject(subject)}:{index}"
        return key, limit.window_s - into

    async def retry_after(self, limit: Limit, subject: str) -> int | None:
        """Seconds until `subject` may try again when the limit is used up; None when free."""
        key, remaining = self._window(limit, subject)
        raw = await self.redis.get(key)
        return remaining if raw is not None and int(raw) >= limit.max_hits else None

    async def hit(self, limit: Limit, subject: str) -> int:
        """Count one hit; returns the count in the current window."""
        key, remaining = self._window(limit, subject)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, remaining + 1)
            count, _ = await pipe.execute()
        return int(count)

    async def lock(self, name: str, subject: str, seconds: int) -> None:
        await self.redis.set(f"{LOCK_PREFIX}:{name}:{_subject(subject)}", b"1", ex=seconds)

    async def locked_for(self, name: str, subject: str) -> int | None:
        """Seconds left on a lock, None when not locked."""
        ttl = int(await self.redis.ttl(f"{LOCK_PREFIX}:{name}:{_subject(subject)}"))
        return ttl if ttl > 0 else None

    async def remember(self, name: str, subject: str, value: str, seconds: int) -> None:
        """Keep a small derived fact (e.g. the masked phone of an account) for later checks."""
        await self.redis.set(f"{PREFIX}:fact:{name}:{_subject(subject)}", value, ex=seconds)

    async def recall(self, name: str, subject: str) -> str | None:
        raw = await self.redis.get(f"{PREFIX}:fact:{name}:{_subject(subject)}")
        return raw.decode() if isinstance(raw, bytes) else raw
