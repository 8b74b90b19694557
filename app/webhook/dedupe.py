"""Cross-instance deduplication of WeChat deliveries: claim in Redis, share the first reply.

Value stored under the key: `PENDING` while the first attempt runs, then `DONE` + the plain
reply XML (empty for `success`). Waiters in this process are woken through a local future;
waiters in other instances poll the key (bounded by their time budget).
"""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from app.core.redis import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = "wxb:webhook:dedupe:"
PENDING = b"\x00"
DONE = b"="
_POLL_FIRST_S = 0.02
_POLL_MAX_S = 0.2


class DedupeStore:
    """SET NX claim per delivery key; the claimer stores its reply for concurrent retries."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        # Deliveries claimed (or being claimed) by this process; retries here await the future.
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}

    async def claim(self, key: str) -> bool:
        """True if this attempt owns the delivery and must handle it.

        Redis trouble fails open (handle it): a rare double reply beats dropping a message.
        """
        if key in self._inflight:
            return False
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            owned = bool(await self._redis.set(KEY_PREFIX + key, PENDING, nx=True, ex=self._ttl_s))
        except RedisError:
            log.warning("webhook.dedupe.redis_unavailable", exc_info=True)
            owned = True
        if not owned:
            # Someone in another instance owns it; local waiters fall back to polling Redis.
            del self._inflight[key]
            future.set_result(None)
        return owned

    async def store_reply(self, key: str, reply: bytes) -> None:
        """Publish the owner's plain reply (b"" = `success`) to every retry, local or remote."""
        future = self._inflight.pop(key, None)
        if future is not None and not future.done():
            future.set_result(reply)
        try:
            await self._redis.set(KEY_PREFIX + key, DONE + reply, ex=self._ttl_s)
        except RedisError:
            log.warning("webhook.dedupe.store_failed", exc_info=True)

    async def wait_for_reply(self, key: str, timeout_s: float) -> bytes | None:
        """The first attempt's reply, or None if it is not ready within `timeout_s`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(timeout_s, 0.0)
        future = self._inflight.get(key)
        if future is not None:
            try:
                result = await asyncio.wait_for(asyncio.shield(future), max(timeout_s, 0.0))
            except TimeoutError:
                return None
            if result is not None:
                return result
        return await self._poll(key, deadline)

    async def _poll(self, key: str, deadline: float) -> bytes | None:
        loop = asyncio.get_running_loop()
        delay = _POLL_FIRST_S
        while True:
            try:
                value = await self._redis.get(KEY_PREFIX + key)
            except RedisError:
                log.warning("webhook.dedupe.redis_unavailable", exc_info=True)
                return None
            if value is None:
                return None  # expired or lost: nothing to share
            raw = value if isinstance(value, bytes) else str(value).encode()
            if raw.startswith(DONE):
                return raw[len(DONE) :]
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            await asyncio.sleep(min(delay, remaining))
            delay = min(delay * 2, _POLL_MAX_S)

    @property
    def inflight(self) -> int:
        return len(self._inflight)
