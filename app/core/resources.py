"""Long-lived objects of one process: engine, sessions, Redis, HTTP client, clock."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.core.redis import Redis, create_redis
from app.core.time import Clock, SystemClock

log = logging.getLogger(__name__)


@dataclass
class Resources:
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    http: httpx.AsyncClient
    clock: Clock = field(default_factory=SystemClock)
    owned: bool = True  # False when a test passed them in: the test closes them

    @classmethod
    def create(cls, settings: Settings) -> Resources:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        timeout = httpx.Timeout(settings.wechat_http_timeout_s, connect=3.0)
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=100)
        return cls(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=create_redis(settings.redis_url),
            http=httpx.AsyncClient(timeout=timeout, limits=limits),
        )

    async def close(self) -> None:
        if not self.owned:
            return
        await self.http.aclose()
        try:
            await self.redis.aclose()
        except Exception:  # shutdown edge: still dispose of the engine
            log.exception("resources.redis_close_failed")
        await self.engine.dispose()
