"""The embedded default's demo campaign: valid, seeded once, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import campaigns
from app.campaigns import constants as c
from app.core.db import Base, create_engine

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
async def sqlite_session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    import app.all_models  # noqa: F401 - every table on the metadata

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'demo.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
    await engine.dispose()


class TestEnsureDemoCampaign:
    async def test_is_created_once_and_open_now(self, session: AsyncSession) -> None:
        assert await campaigns.ensure_demo_campaign(session, now=NOW) is True
        assert await campaigns.ensure_demo_campaign(session, now=NOW + timedelta(1)) is False
        demo = await campaigns.get_campaign(session, c.DEMO_CAMPAIGN_CODE)
        assert demo.starts_at <= NOW < demo.ends_at
        assert demo.eligibility == ["bound_customer"]
        assert [p.code for p in demo.prizes] == ["cash88", "cash8"]

    def test_passes_the_same_checks_as_an_ops_campaign(self) -> None:
        campaigns.validate_campaign(campaigns.demo_campaign(NOW))  # raises when refused

    async def test_on_sqlite(self, sqlite_session: AsyncSession) -> None:
        assert await campaigns.ensure_demo_campaign(sqlite_session, now=NOW) is True
        await sqlite_session.commit()
        assert await campaigns.ensure_demo_campaign(sqlite_session, now=NOW) is False
