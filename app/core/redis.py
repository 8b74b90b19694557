"""Redis connections: a real server, or the in-process stand-in for the embedded default."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

Redis = aioredis.Redis
MAX_CONNECTIONS = 128
POOL_WAIT_S = 2.0


def is_in_process(url: str) -> bool:
    """The embedded stand-in. Its blocking reads (XREADGROUP BLOCK) stall the whole event loop
    for the block time, so callers poll it without BLOCK instead."""
    return url.startswith("memory://")


def create_redis(url: str) -> Redis:
    """`memory://` gives fakeredis (Streams, Lua, SET NX behave like the server)."""
    if is_in_process(url):
        import fakeredis

        fake: Any = fakeredis.FakeAsyncRedis(decode_responses=False)
        return fake  # type: ignore[no-any-return]
    # A blocking pool waits (bounded) for a free connection under bursts; the default pool
    # raises MaxConnectionsError at once, which would turn load into errors.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        decode_responses=False,
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        health_check_interval=30,
        max_connections=MAX_CONNECTIONS,
        timeout=POOL_WAIT_S,
    )
    return aioredis.Redis(connection_pool=pool)
