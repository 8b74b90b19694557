"""Per-fan cache of counter answers in Redis, keyed by openid AND account reference.

Nothing is shared across fans: two fans bound to the same account still have separate entries,
so one fan's cached figures can never be served to another. Entries carry their fetch time,
which the replies show ("数据更新于 10:31").
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from redis.exceptions import RedisError

from app.account_center.constants import CACHE_PREFIX, HINTS_MAX, QueryKind
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


class DefaultAccountHints:
    """Per process: the account a fan's default-binding queries ran on last, by openid.

    Only a hint of which cache key to prefetch with the webhook's dedupe claim; the account a
    query runs on always comes from the fan's own binding list, read in the same step. A wrong
    or missing hint costs one extra GET, never a wrong answer.
    """

    def __init__(self, max_entries: int = HINTS_MAX) -> None:
        self._max = max_entries
        self._by_openid: dict[str, str] = {}

    def get(self, openid: str) -> str | None:
        return self._by_openid.get(openid)

    def remember(self, openid: str, account_id: str) -> None:
        if self._by_openid.get(openid) == account_id:
            return
        if len(self._by_openid) >= self._max:  # drop the oldest half, cheaply
            for old in list(self._by_openid)[: self._max // 2]:
                del self._by_openid[old]
        self._by_openid[openid] = account_id


class FanCache:
    """Freshness is judged on our clock (the entry's fetch time); Redis' TTL only reclaims."""

    def __init__(self, redis: Redis, ttl_s: int, clock: Clock) -> None:
        self.redis = redis
        self.ttl_s = ttl_s
        self.clock = clock

    async def get(
        self,
        key: str,
        adapter: TypeAdapter[Any],
        prefetched: Mapping[str, bytes | None] | None = None,
    ) -> Cached | None:
        """A fresh entry, or None (missing, expired, unreadable, or Redis down: ask the counter).

        The value comes from `prefetched` when the key was read there already.
        """
        raw: bytes | str | None
        if prefetched is not None and key in prefetched:
            raw = prefetched[key]
        else:
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
