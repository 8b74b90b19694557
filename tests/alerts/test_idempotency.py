"""Idempotency-Key retention: the worker's purge loop removes keys past 24 h only."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.alerts import idempotency
from app.alerts.models import IngestRequest
from app.alerts.repository import IngestRequestRepository
from app.core.db import create_sessionmaker, unit_of_work
from app.core.time import FakeClock


class StopAfterFirstLook(FakeClock):
    """A clock that asks the loop to stop once it has read the time (one pass, no sleeps)."""

    stop: asyncio.Event | None = None

    def now(self):  # type: ignore[no-untyped-def]
        if self.stop is not None:
            self.stop.set()
        return super().now()


class TestPurgeLoop:
    async def test_expired_keys_go_and_live_keys_stay(
        self, engine: AsyncEngine, truncate_tables: None
    ) -> None:
        sessionmaker = create_sessionmaker(engine)
        clock = StopAfterFirstLook()
        now = clock.current
        async with unit_of_work(sessionmaker) as session:
            repo = IngestRequestRepository(session)
            old_at, new_at = now - timedelta(hours=25), now - timedelta(hours=1)
            await repo.claim(
                key="old", request_hash="h", now=old_at, expires_at=old_at + timedelta(hours=24)
            )
            await repo.claim(
                key="new", request_hash="h", now=new_at, expires_at=new_at + timedelta(hours=24)
            )
        clock.stop = asyncio.Event()

        await idempotency.run_purge_loop(
            clock.stop, sessionmaker=sessionmaker, clock=clock, interval_s=0
        )

        async with unit_of_work(sessionmaker) as session:
            keys = set(await session.scalars(select(IngestRequest.key)))
            assert await session.scalar(select(func.count()).select_from(IngestRequest)) == 1
        assert keys == {"new"}
