"""One aiohttp session per adapter, opened lazily inside the running event loop.

aiohttp sessions must be created inside a running loop, so adapters built at start-up (the
WeChat send hot path, the counter gateway) open theirs on first use and close it at shutdown.
"""

from __future__ import annotations

import asyncio

import aiohttp


class LazyAiohttpSession:
    """A pooled `aiohttp.ClientSession`, (re)created on first use; `aclose` it at shutdown."""

    def __init__(self, *, timeout_s: float, connect_timeout_s: float, limit: int) -> None:
        # sock_connect, not connect: `connect` arms a timer on every request (pool acquire),
        # sock_connect only when a TCP connection is opened; `total` bounds the whole call.
        self._timeout = aiohttp.ClientTimeout(
            total=timeout_s, sock_connect=min(timeout_s, connect_timeout_s)
        )
        self._limit = limit
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=self._limit, limit_per_host=0, ttl_dns_cache=300)
            session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)
            self._session = session
        return session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
            # Let the connector's transports finish closing (aiohttp's documented idiom).
            await asyncio.sleep(0)
