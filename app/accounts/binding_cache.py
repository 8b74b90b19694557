"""Per-fan cache of active bindings in Redis, so a warm menu click needs no database round trip.

Invalidation is by generation, which is safe against the read/write race: a reader takes the
fan's generation *before* reading PostgreSQL and stores the list tagged with it; a writer bumps
the generation *after* its commit. A list read before a change can therefore only be stored
under an older generation and is never served after the bump. Entries expire on their own
(`BINDING_CACHE_TTL_S`); if Redis is unavailable the caller reads PostgreSQL.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from datetime import datetime

import orjson
from redis.exceptions import RedisError

from app.accounts.schemas import BindingRead
from app.core.redis import Redis
from app.core.security import mask_openid

log = logging.getLogger(__name__)

BINDING_CACHE_PREFIX = "accounts:v1:bindings"
BINDING_CACHE_TTL_S = 600
# Outlives every entry, so a generation never restarts from 0 under a live entry.
GENERATION_TTL_S = 7 * 86400


def _digest(openid: str) -> str:
    return hashlib.sha256(openid.encode()).hexdigest()[:32]  # no openids in clear in Redis


def entry_key(openid: str) -> str:
    return f"{BINDING_CACHE_PREFIX}:list:{_digest(openid)}"


def generation_key(openid: str) -> str:
    return f"{BINDING_CACHE_PREFIX}:gen:{_digest(openid)}"


def cache_keys(openid: str) -> tuple[str, str]:
    """(generation, list): read together, as one MGET or one script, never one at a time."""
    return generation_key(openid), entry_key(openid)


def _encode(generation: int, bindings: list[BindingRead]) -> bytes:
    rows = [
        [
            b.id,
            b.openid,
            b.client_id,
            b.account_id,
            b.account_no_masked,
            b.account_type,
            b.is_default,
            b.bound_at.isoformat(),
        ]
        for b in bindings
    ]
    return orjson.dumps({"gen": generation, "rows": rows})


def _decode(raw: bytes | str, *, openid: str, generation: int) -> list[BindingRead] | None:
    try:
        entry = orjson.loads(raw)
        if entry["gen"] != generation:
            return None
        out = [
            BindingRead(
                id=int(r[0]),
                openid=str(r[1]),
                client_id=str(r[2]),
                account_id=str(r[3]),
                account_no_masked=str(r[4]),
                account_type=str(r[5]),
                is_default=bool(r[6]),
                bound_at=datetime.fromisoformat(r[7]),
            )
            for r in entry["rows"]
        ]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        return None
    # Defence in depth: an entry for another fan (a hash collision) is never served.
    return out if all(b.openid == openid for b in out) else None


class BindingCache:
    """`lookup` → (cached list or None, generation); `store` after a PostgreSQL read."""

    def __init__(self, redis: Redis, ttl_s: int = BINDING_CACHE_TTL_S) -> None:
        self.redis = redis
        self.ttl_s = ttl_s

    async def lookup(
        self, openid: str, prefetched: Mapping[str, bytes | None] | None = None
    ) -> tuple[list[BindingRead] | None, int | None]:
        """The cached list when current; the generation to store under (None: Redis down).

        `prefetched` may hold both keys' values read earlier in one atomic step (the webhook
        reads them with its dedupe claim); otherwise they are read here with one MGET.
        """
        gen_key, list_key = cache_keys(openid)
        raw_gen: bytes | str | None
        raw_entry: bytes | str | None
        if prefetched is not None and gen_key in prefetched and list_key in prefetched:
            raw_gen, raw_entry = prefetched[gen_key], prefetched[list_key]
        else:
            try:
                raw_gen, raw_entry = await self.redis.mget(gen_key, list_key)
            except RedisError:
                return None, None
        try:
            generation = int(raw_gen) if raw_gen is not None else 0
        except ValueError:
            return None, None
        if raw_entry is None:
            return None, generation
        return _decode(raw_entry, openid=openid, generation=generation), generation

    async def store(self, openid: str, generation: int, bindings: list[BindingRead]) -> None:
        try:
            await self.redis.set(entry_key(openid), _encode(generation, bindings), ex=self.ttl_s)
        except RedisError:
            return  # an optimisation only


async def invalidate_bindings(redis: Redis, openid: str) -> None:
    """Call after committing any change to the fan's bindings (bind, unbind, default)."""
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(generation_key(openid))
            pipe.expire(generation_key(openid), GENERATION_TTL_S)
            pipe.delete(entry_key(openid))
            await pipe.execute()
    except RedisError:
        log.warning(
            "accounts.binding_cache.invalidate_failed", extra={"openid": mask_openid(openid)}
        )
