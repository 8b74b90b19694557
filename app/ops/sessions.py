"""Staff sessions and login throttling in Redis (shared by every API instance)."""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass

from app.core.redis import Redis
from app.ops.constants import (
    LOGIN_MAX_FAILURES_PER_IP,
    LOGIN_MAX_FAILURES_PER_USER,
    LOGIN_WINDOW_S,
    SESSION_KEY_PREFIX,
    SESSION_TTL_S,
    THROTTLE_KEY_PREFIX,
)


@dataclass(frozen=True, slots=True)
class SessionData:
    staff_id: int
    csrf_token: str  # synchronizer token: sent back in X-CSRF-Token on every unsafe request
    created_at: float
    ip: str | None


def _key(token: str) -> str:
    # Only a hash of the cookie value is stored: a Redis dump does not yield live sessions.
    return SESSION_KEY_PREFIX + hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_session(
    redis: Redis, *, staff_id: int, ip: str | None, now: float
) -> tuple[str, SessionData]:
    token = secrets.token_urlsafe(32)
    data = SessionData(staff_id, secrets.token_urlsafe(32), now, ip)
    await redis.set(_key(token), json.dumps(asdict(data)), ex=SESSION_TTL_S)
    return token, data


async def load_session(redis: Redis, token: str | None) -> SessionData | None:
    """The session behind a cookie value; its lifetime slides with use."""
    if not token or len(token) > 128:
        return None
    key = _key(token)
    raw = await redis.get(key)
    if raw is None:
        return None
    await redis.expire(key, SESSION_TTL_S)
    fields = json.loads(raw)
    return SessionData(
        staff_id=int(fields["staff_id"]),
        csrf_token=str(fields["csrf_token"]),
        created_at=float(fields["created_at"]),
        ip=fields.get("ip"),
    )


async def delete_session(redis: Redis, token: str | None) -> None:
    if token and len(token) <= 128:
        await redis.delete(_key(token))


def _throttle_keys(username: str, ip: str | None) -> list[tuple[str, int]]:
    keys = [(f"{THROTTLE_KEY_PREFIX}user:{username.casefold()}", LOGIN_MAX_FAILURES_PER_USER)]
    if ip:
        keys.append((f"{THROTTLE_KEY_PREFIX}ip:{ip}", LOGIN_MAX_FAILURES_PER_IP))
    return keys


async def is_login_throttled(redis: Redis, *, username: str, ip: str | None) -> bool:
    """True when the username or the client address used up its failures in the window."""
    keys = _throttle_keys(username, ip)
    values = await redis.mget([k for k, _ in keys])
    return any(
        v is not None and int(v) >= limit for v, (_, limit) in zip(values, keys, strict=True)
    )


async def record_login_failure(redis: Redis, *, username: str, ip: str | None) -> None:
    async with redis.pipeline(transaction=False) as pipe:
        for key, _ in _throttle_keys(username, ip):
            pipe.incr(key)
            pipe.expire(key, LOGIN_WINDOW_S, nx=True)
        await pipe.execute()


async def clear_login_failures(redis: Redis, *, username: str) -> None:
    await redis.delete(_throttle_keys(username, None)[0][0])
