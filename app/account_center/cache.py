"""Per-fan cache of counter answers in Redis, keyed by openid AND account reference.

Nothing is shared across fans: two fans bound to the same account still have separate entries,
so one fan's cached figures can never be served to another. Entries carry their fetch time,
which the replies show ("数据更新于 10:31").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from app.account_center.constants import CACHE_PREFIX, QueryKind
from app.core.redis import Redis
from app.core.time import Clock


@dataclass(frozen=True, slots=True)
class Cached:
    data: Any
    fetched_at: datetime


def cache_key(kind: QueryKind, *, openid: str, account_id: str) -> str:
    # Hashed so Redis holds no openids in clear; both parts are in, so keys never collide.
    digest = hashlib.sha256(f"{openid}\x00{account_id}".encode()).hexdigest()[:32]
    return f"{CACHE_PREFIX}:{kind}:{digest}"


class FanCache:
    """Freshness is judged on our clock (the entry's fetch time); Redis' TTL only reclaims."""

    def __init__(self, redis: Redis, ttl_s: int, clock: Clock) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.clock = clock

    async def get(self, key: str, adapter: TypeAdapter[Any]) -> Cached | None:
        """A fresh entry, or None (missing, expired, unreadable, or Redis down: ask the counter)."""
        try:
            raw = await self.redis.get(key)
        except RedisError:
            return None
        if raw is None:
            return None
        try:
            entry = orjson.loads(raw)
            fetched_at = datetime.fromisoformat(entry["at"])
            if (self.clock.now() - fetched_at).total_seconds() >= self.ttl_s:
                return None
            return Cached(adapter.validate_python(entry["data"]), fetched_at)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError):
            return None

    async def put(self, key: str, adapter: TypeAdapter[Any], entry: Cached) -> None:
        payload = {
            "at": entry.fetched_at.isoformat(),
            "data": adapter.dump_python(entry.data, mode="json"),
        }
        try:
            await self.redis.set(key, orjson.dumps(payload), ex=self.ttl_s)
        except RedisError:
            return  # the cache is an optimisation; the fan still gets the answer
