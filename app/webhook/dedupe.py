"""Cross-instance deduplication of WeChat deliveries: claim in Redis, share the first reply.

Value stored under the key: `PENDING` while the first attempt runs, then `DONE` + the plain
reply XML (empty for `success`). Waiters in this process are woken through a local future;
waiters in other instances poll the key (bounded by their time budget).

Claims and stores issued in the same event-loop iteration share one round trip (`SetBatcher`):
one EVALSHA runs the whole batch of SETs in Redis. Profiling under wrk showed redis-py's
per-command pipeline work (retry wrapper, packing, parsing one reply per command) as the largest
cost of the webhook; one script call packs and parses once per batch. The keys carry one hash
tag, so a batch stays in one slot on Redis Cluster.

A claim may also read keys (a route's prefetch: e.g. the account center's per-fan caches) in the
same script, so a cache-hit handler needs no round trip of its own. Those keys live in other
slots: on Redis Cluster prefetching would need the keys under the same hash tag (we run a single
Redis; `WeChatRouter` routes without prefetch keep the batch in one slot).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import RedisError

from app.core.redis import Redis

log = logging.getLogger(__name__)

KEY_PREFIX = "wxb:{webhook-dedupe}:"
PENDING = b"\x00"
DONE = b"="
_POLL_FIRST_S = 0.02
_POLL_MAX_S = 0.2
# ARGV = ttl, then (nx flag, value, number of reads) per command; KEYS = per command its key,
# then the keys to read. Per command: 0 where the SET did not happen, 1 where it did, or
# {1, values...} where it did and reads were asked for (the route's prefetch, read only by the
# attempt that owns the delivery).
_SET_MANY = """
local unpack = table.unpack or unpack
local out = {}
local k = 1
for i = 1, (#ARGV - 1) / 3 do
  local nx, value, reads = ARGV[3 * i - 1], ARGV[3 * i], tonumber(ARGV[3 * i + 1])
  local ok
  if nx == '1' then
    ok = redis.call('SET', KEYS[k], value, 'NX', 'EX', ARGV[1])
  else
    ok = redis.call('SET', KEYS[k], value, 'EX', ARGV[1])
  end
  if not ok then
    out[i] = 0
  elseif reads > 0 then
    local values = redis.call('MGET', unpack(KEYS, k + 1, k + reads))
    table.insert(values, 1, 1)
    out[i] = values
  else
    out[i] = 1
  end
  k = k + 1 + reads
end
return out
"""
NO_READS: list[bytes | None] = []


@dataclass(slots=True)
class _SetCommand:
    key: str
    value: bytes
    nx: bool
    future: asyncio.Future[Any] | None  # None: nobody waits (the reply store)
    reads: Sequence[str] = ()


class SetBatcher:
    """Coalesces the SETs issued in one loop iteration into one pipeline (no transaction)."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._set_many = redis.register_script(_SET_MANY)
        self._queue: list[_SetCommand] = []
        self._flush_scheduled = False
        self._tasks: set[asyncio.Task[None]] = set()

    async def set_nx(self, key: str, value: bytes) -> bool:
        owned, _ = await self.set_nx_reading(key, value, ())
        return owned

    async def set_nx_reading(
        self, key: str, value: bytes, reads: Sequence[str]
    ) -> tuple[bool, list[bytes | None]]:
        """SET NX, and when it happened the values of `reads` (None: missing), in one trip."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._enqueue(_SetCommand(key, value, True, future, reads))
        result: tuple[bool, list[bytes | None]] = await future
        return result

    def set_later(self, key: str, value: bytes) -> None:
        """Fire and forget: a lost store only means retries answer `success`."""
        self._enqueue(_SetCommand(key, value, False, None))

    def _enqueue(self, command: _SetCommand) -> None:
        self._queue.append(command)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            task = asyncio.get_running_loop().create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        batch, self._queue = self._queue, []
        self._flush_scheduled = False
        results: list[tuple[bool, list[bytes | None]]] | list[RedisError]
        try:
            results = await self._execute(batch)
        except RedisError as exc:
            log.warning("webhook.dedupe.redis_unavailable", extra={"commands": len(batch)})
            results = [exc] * len(batch)
        for command, result in zip(batch, results, strict=True):
            if command.future is None or command.future.done():
                continue
            if isinstance(result, BaseException):
                command.future.set_exception(result)
            else:
                command.future.set_result(result)

    async def _execute(self, batch: list[_SetCommand]) -> list[tuple[bool, list[bytes | None]]]:
        if len(batch) == 1 and not batch[0].reads:  # a script costs more than one plain SET
            only = batch[0]
            done = await self._redis.set(only.key, only.value, nx=only.nx, ex=self._ttl_s)
            return [(bool(done), NO_READS)]
        args: list[Any] = [self._ttl_s]
        keys: list[str] = []
        for command in batch:
            args += [b"1" if command.nx else b"0", command.value, len(command.reads)]
            keys += [command.key, *command.reads]
        return [_outcome(raw) for raw in await self._set_many(keys=keys, args=args)]

    async def drain(self) -> None:
        """Wait for queued stores (shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _outcome(raw: Any) -> tuple[bool, list[bytes | None]]:
    if isinstance(raw, list):  # {1, values...}: set, with the values read after it
        return True, raw[1:]
    return bool(raw), NO_READS


class DedupeStore:
    """SET NX claim per delivery key; the claimer stores its reply for concurrent retries."""

    def __init__(self, redis: Redis, *, ttl_s: int) -> None:
        self._redis = redis
        self._ttl_s = ttl_s
        self._batcher = SetBatcher(redis, ttl_s=ttl_s)
        # Deliveries claimed (or being claimed) by this process; retries here await the future.
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}

    async def claim(self, key: str) -> bool:
        """True if this attempt owns the delivery and must handle it.

        Redis trouble fails open (handle it): a rare double reply beats dropping a message.
        """
        owned, _ = await self.claim_reading(key, ())
        return owned

    async def claim_reading(
        self, key: str, reads: Sequence[str]
    ) -> tuple[bool, dict[str, bytes | None]]:
        """`claim`, plus the values of `reads` for the owner, read in the claim's round trip.

        A key absent from the mapping was not read (Redis trouble): the handler reads it itself.
        """
        if key in self._inflight:
            return False, {}
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            owned, values = await self._batcher.set_nx_reading(KEY_PREFIX + key, PENDING, reads)
        except RedisError:
            log.warning("webhook.dedupe.redis_unavailable", exc_info=True)
            owned, values = True, NO_READS
        if not owned:
            # Someone in another instance owns it; local waiters fall back to polling Redis.
            del self._inflight[key]
            future.set_result(None)
        return owned, dict(zip(reads, values, strict=False))

    def store_reply(self, key: str, reply: bytes) -> None:
        """Publish the owner's plain reply (b"" = `success`) to every retry, local or remote.

        Local waiters are woken now; the Redis write is queued (not awaited) for other instances.
        """
        future = self._inflight.pop(key, None)
        if future is not None and not future.done():
            future.set_result(reply)
        self._batcher.set_later(KEY_PREFIX + key, DONE + reply)

    async def drain(self) -> None:
        """Wait until queued reply stores reached Redis."""
        await self._batcher.drain()

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
