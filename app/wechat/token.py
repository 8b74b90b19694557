"""Access token and JS-SDK ticket shared by every process through Redis.

One process refreshes ahead of expiry under a Redis lock (re-checking after it got the lock);
the others reuse the stored value or poll briefly until it appears. A token error invalidates
the stored value only if it is still the one that failed (Lua compare-and-delete). When Redis is
unreachable each process falls back to its own in-memory credential instead of failing calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from app.core.redis import Redis
from app.core.time import Clock, SystemClock
from app.wechat.errors import ErrorKind, TokenUnavailableError, WeChatApiError, WeChatError

log = logging.getLogger(__name__)

REDIS_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

# Delete the credential only if it still holds the value that just failed.
_COMPARE_AND_DELETE = """
if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# Release the refresh lock only if we still own it (it may have expired and been re-taken).
_RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class IssuedCredential:
    """What WeChat handed out: the value and its lifetime in seconds."""

    value: str
    expires_in: int


Fetcher = Callable[[], Awaitable[IssuedCredential]]


@dataclass(frozen=True, slots=True)
class CredentialTiming:
    """Timing knobs (seconds). Defaults suit WeChat's 7200 s tokens."""

    expiry_margin_s: float = 60.0  # drop the value this long before WeChat expires it
    refresh_ahead_s: float = 300.0  # one process refreshes when less than this is left
    lock_ttl_s: float = 15.0  # longer than one token fetch (HTTP timeout)
    wait_timeout_s: float = 10.0  # how long a process waits for another one's refresh
    poll_initial_s: float = 0.01
    poll_max_s: float = 0.1
    local_ttl_s: float = 1.0  # re-read Redis at most this often per process (hot path)
    redis_retry_after_s: float = 5.0  # after a Redis failure, use the local fallback this long
    error_ttl_s: float = 30.0  # remember a configuration error so nobody loops fetches


@dataclass(slots=True)
class _Memo:
    value: str
    refresh_at: float  # wall-clock seconds: refresh ahead of expiry from here on
    expires_at: float  # wall-clock seconds: unusable from here on
    fresh_until: float  # Redis mode: trust the memo without re-reading Redis until then


class SharedCredential:
    """A credential cached in Redis under `key`, refreshed by exactly one process at a time."""

    def __init__(
        self,
        *,
        key: str,
        redis: Redis,
        fetch: Fetcher,
        clock: Clock | None = None,
        timing: CredentialTiming | None = None,
    ) -> None:
        self.key = key
        self.lock_key = f"{key}:lock"
        self.error_key = f"{key}:error"
        self._redis = redis
        self._fetch = fetch
        self._clock = clock or SystemClock()
        self._timing = timing or CredentialTiming()
        self._memo: _Memo | None = None
        self._last_invalidated: str | None = None
        self._inflight: asyncio.Task[str] | None = None
        self._redis_down_until = 0.0
        self._local_error: WeChatApiError | None = None
        self._local_error_until = 0.0
        self._cad = redis.register_script(_COMPARE_AND_DELETE)
        self._release = redis.register_script(_RELEASE_LOCK)
        self.fetch_count = 0  # fetches this process made (observability and tests)
        self.refreshing: asyncio.Task[None] | None = None  # a running early refresh

    async def get(self) -> str:
        """A valid credential: memo, Redis, another process's refresh, or our own fetch."""
        memo = self._memo
        if memo is not None and self._clock.timestamp() < memo.fresh_until:
            return memo.value
        # One coroutine per process goes to Redis (or WeChat); the others share its answer.
        return await self._single_flight(self._load)

    async def _load(self) -> str:
        now = self._clock.timestamp()
        if now < self._redis_down_until:
            return await self._load_local(now)
        try:
            return await self._load_shared(now)
        except REDIS_DOWN as exc:
            self._mark_redis_down(exc)
            return await self._load_local(self._clock.timestamp())

    async def invalidate(self, failed: str) -> None:
        """WeChat rejected `failed`: forget it here and in Redis, unless already replaced."""
        if self._memo is not None and self._memo.value == failed:
            self._memo = None
        if failed == self._last_invalidated:
            return  # a burst of calls failed with the same token: one compare-and-delete
        self._last_invalidated = failed
        if self._clock.timestamp() < self._redis_down_until:
            return
        try:
            deleted = await self._cad(keys=[self.key], args=[failed])
        except REDIS_DOWN as exc:
            self._mark_redis_down(exc)
            return
        log.info("wechat.credential.invalidated", extra={"key": self.key, "deleted": deleted})

    @property
    def using_local_fallback(self) -> bool:
        """True while Redis is considered down and this process serves its own credential."""
        return self._clock.timestamp() < self._redis_down_until

    async def peek(self) -> str | None:
        """The value stored in Redis right now (no refresh); None when absent."""
        raw = await self._redis.hget(self.key, "v")
        return _text(raw) if raw is not None else None

    # -- shared (Redis) mode -------------------------------------------------------------

    async def _load_shared(self, now: float) -> str:
        stored = await self._read_stored()
        if stored is None:
            return await self._refresh_or_wait()
        memo = self._memo
        if memo is not None and now >= memo.refresh_at:
            # Ahead of expiry: refresh in the background, keep serving the current value.
            self._start_background(self._refresh_ahead)
        return stored

    async def _single_flight(self, work: Callable[[], Awaitable[str]]) -> str:
        """Coroutines of this process share one load instead of queueing their own."""
        task = self._inflight
        if task is None:
            task = asyncio.ensure_future(work())
            task.add_done_callback(self._inflight_done)
            self._inflight = task
        return await asyncio.shield(task)

    def _inflight_done(self, task: asyncio.Task[str]) -> None:
        self._inflight = None
        if not task.cancelled():
            task.exception()  # retrieved by every awaiter; this silences "never retrieved"

    def _start_background(self, work: Callable[[], Awaitable[str]]) -> None:
        if self.refreshing is None or self.refreshing.done():
            self.refreshing = asyncio.ensure_future(self._quietly(work))

    async def _quietly(self, work: Callable[[], Awaitable[str]]) -> None:
        """An early refresh that fails is not an outage: the current value still works."""
        try:
            await work()
        except TokenUnavailableError:
            pass  # another process is refreshing; its value shows up in Redis
        except (WeChatError, *REDIS_DOWN) as exc:
            log.warning(
                "wechat.credential.early_refresh_failed",
                extra={"key": self.key, "error": type(exc).__name__},
            )

    async def _refresh_or_wait(self) -> str:
        """No stored value: take the lock and fetch, or wait for the process that has it."""
        timing = self._timing
        deadline = self._clock.timestamp() + timing.wait_timeout_s
        delay = timing.poll_initial_s
        while True:
            stored = await self._read_stored()
            if stored is not None:
                return stored
            owner = uuid.uuid4().hex
            if await self._redis.set(self.lock_key, owner, nx=True, px=_ms(timing.lock_ttl_s)):
                try:
                    return await self._fetch_under_lock()
                finally:
                    await self._release(keys=[self.lock_key], args=[owner])
            if self._clock.timestamp() >= deadline:
                raise TokenUnavailableError(f"no {self.key} after {timing.wait_timeout_s}s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, timing.poll_max_s)

    async def _refresh_ahead(self) -> str:
        """Refresh before expiry if nobody else is doing it; otherwise keep the current value."""
        owner = uuid.uuid4().hex
        if not await self._redis.set(
            self.lock_key, owner, nx=True, px=_ms(self._timing.lock_ttl_s)
        ):
            raise TokenUnavailableError("another process is refreshing")
        try:
            raw_refresh_at = await self._redis.hget(self.key, "r")
            if raw_refresh_at is not None and float(raw_refresh_at) > self._clock.timestamp():
                stored = await self._read_stored()  # someone refreshed while we looked
                if stored is not None:
                    return stored
            return await self._fetch_and_store()
        finally:
            await self._release(keys=[self.lock_key], args=[owner])

    async def _fetch_under_lock(self) -> str:
        stored = await self._read_stored()  # re-check: a refresh may have landed meanwhile
        if stored is not None:
            return stored
        remembered = await self._redis.get(self.error_key)
        if remembered is not None:
            raise _error_from_record(_text(remembered))
        return await self._fetch_and_store()

    async def _fetch_and_store(self) -> str:
        issued = await self._fetch_remembering_errors(shared=True)
        now = self._clock.timestamp()
        ttl, refresh_at = self._lifetime(issued, now)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.key, mapping={"v": issued.value, "r": repr(refresh_at)})
            pipe.pexpire(self.key, _ms(ttl))
            await pipe.execute()
        self._remember(issued.value, refresh_at, now + ttl, now)
        log.info("wechat.credential.refreshed", extra={"key": self.key, "ttl_s": round(ttl)})
        return issued.value

    async def _read_stored(self) -> str | None:
        """The stored value (remembered locally with its timing), in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(self.key, ["v", "r"])
            pipe.pttl(self.key)
            (raw_value, raw_refresh_at), pttl = await pipe.execute()
        if raw_value is None:
            return None
        now = self._clock.timestamp()
        value = _text(raw_value)
        self._remember(value, float(raw_refresh_at or 0), now + max(pttl, 0) / 1000.0, now)
        return value

    # -- local fallback (Redis unreachable) ----------------------------------------------

    async def _load_local(self, now: float) -> str:
        memo = self._memo
        if memo is not None and now < memo.expires_at:
            if now >= memo.refresh_at:
                self._start_background(self._refresh_local)
            memo.fresh_until = min(memo.refresh_at, memo.expires_at)
            return memo.value
        return await self._refresh_local()

    async def _refresh_local(self) -> str:
        now = self._clock.timestamp()
        if self._local_error is not None and now < self._local_error_until:
            raise self._local_error
        issued = await self._fetch_remembering_errors(shared=False)
        ttl, refresh_at = self._lifetime(issued, now)
        self._memo = _Memo(issued.value, refresh_at, now + ttl, refresh_at)
        log.warning("wechat.credential.refreshed_locally", extra={"key": self.key})
        return issued.value

    def _mark_redis_down(self, exc: BaseException) -> None:
        self._redis_down_until = self._clock.timestamp() + self._timing.redis_retry_after_s
        if self._memo is not None:
            self._memo.fresh_until = self._memo.refresh_at
        log.warning(
            "wechat.credential.redis_unavailable",
            extra={"key": self.key, "error": type(exc).__name__},
        )

    # -- helpers -------------------------------------------------------------------------

    async def _fetch_remembering_errors(self, *, shared: bool) -> IssuedCredential:
        self.fetch_count += 1
        try:
            return await self._fetch()
        except WeChatApiError as exc:
            if exc.kind is ErrorKind.CONFIGURATION:
                await self._remember_error(exc, shared=shared)
            raise

    async def _remember_error(self, exc: WeChatApiError, *, shared: bool) -> None:
        """A configuration error at the credential endpoint: stop everyone fetching for a while."""
        ttl = self._timing.error_ttl_s
        self._local_error, self._local_error_until = exc, self._clock.timestamp() + ttl
        log.error(
            "wechat.credential.configuration_error",
            extra={"key": self.key, "errcode": exc.errcode, "errmsg": exc.errmsg},
        )
        if shared:
            record = f"{exc.errcode}|{exc.path}|{exc.errmsg}"
            with contextlib.suppress(*REDIS_DOWN):
                await self._redis.set(self.error_key, record, px=_ms(ttl))

    def _lifetime(self, issued: IssuedCredential, now: float) -> tuple[float, float]:
        """(ttl, refresh_at): expire early by a margin, refresh earlier still."""
        lifetime = float(issued.expires_in)
        ttl = max(lifetime - min(self._timing.expiry_margin_s, lifetime / 4), 1.0)
        ahead = min(self._timing.refresh_ahead_s, ttl / 2)
        return ttl, now + ttl - ahead

    def _remember(self, value: str, refresh_at: float, expires_at: float, now: float) -> None:
        fresh_until = min(now + self._timing.local_ttl_s, refresh_at, expires_at)
        self._memo = _Memo(value, refresh_at, expires_at, fresh_until)


def _ms(seconds: float) -> int:
    return max(int(seconds * 1000), 1)


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _error_from_record(record: str) -> WeChatApiError:
    errcode, path, errmsg = record.split("|", 2)
    return WeChatApiError(int(errcode), errmsg, path, kind=ErrorKind.CONFIGURATION)
