"""Migrations: one head, upgrade → downgrade → upgrade on PostgreSQL and SQLite, no drift."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import app.all_models  # noqa: F401 - every table on Base.metadata
from app.core.db import Base, create_engine
from app.core.migrate import alembic_config, run_on_engine
from tests.conftest import TEST_DB_NAME, pg_url, recreate_database


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def _round_trip(engine: AsyncEngine) -> None:
    expected = set(Base.metadata.tables)
    await run_on_engine(engine, "upgrade", "head")
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == expected
        assert await conn.run_sync(_diff) == []
    await run_on_engine(engine, "downgrade", "base")
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == set()
    await run_on_engine(engine, "upgrade", "head")
    async with engine.connect() as conn:
        assert await conn.run_sync(_tables) == expected


def test_there_is_exactly_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1


def test_revision_files_follow_the_naming_rule() -> None:
    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    for path in versions.glob("*.py"):
        stem = path.stem
        assert re.match(r"^\d{4}-\d{2}-\d{2}-\d{4}_[a-z0-9_]+$", stem), path.name


async def _on_postgres(check: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    name = f"{TEST_DB_NAME}_migrations"
    await recreate_database(name)
    engine = create_engine(pg_url(name), pool_size=2)
    try:
        await check(engine)
    finally:
        await engine.dispose()


async def _on_sqlite(path: Path, check: Callable[[AsyncEngine], Awaitable[None]]) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    try:
        await check(engine)
    finally:
        await engine.dispose()


async def test_postgres_upgrade_downgrade_upgrade() -> None:
    await _on_postgres(_round_trip)


@pytest.mark.embedded
async def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    await _on_sqlite(tmp_path / "migrations.db", _round_trip)


async def _delivery_range_upgrade(engine: AsyncEngine) -> None:
    """0011 records each alert's delivery id range from the rows it has, and its downgrade
    brings the (alert_id, openid) unique constraint back."""
    await run_on_engine(engine, "upgrade", "0010_delivery_fanout_path")
    async with engine.begin() as conn:
        for alert_id in (1, 2, 3):
            await conn.execute(
                text(
                    "INSERT INTO alert (id, type, severity, payload, created_at)"
                    " VALUES (:id, 'ipo_listing', 'market', '{}', CURRENT_TIMESTAMP)"
                ),
                {"id": alert_id},
            )
        for delivery_id, alert_id, openid in [(5, 1, "o1"), (6, 2, "o1"), (9, 1, "o2")]:
            await conn.execute(
                text(
                    "INSERT INTO delivery (id, alert_id, openid, severity, status, attempts,"
                    " created_at) VALUES (:id, :alert, :openid, 'market', 'pending', 0,"
                    " CURRENT_TIMESTAMP)"
                ),
                {"id": delivery_id, "alert": alert_id, "openid": openid},
            )
    await run_on_engine(engine, "upgrade", "head")
    async with engine.connect() as conn:
        ranges = await conn.execute(
            text("SELECT id, first_delivery_id, last_delivery_id FROM alert ORDER BY id")
        )
        assert [tuple(r) for r in ranges] == [(1, 5, 9), (2, 6, 6), (3, None, None)]
        uniques = await conn.run_sync(lambda c: inspect(c).get_unique_constraints("delivery"))
        assert uniques == []
    await run_on_engine(engine, "downgrade", "0010_delivery_fanout_path")
    async with engine.connect() as conn:
        uniques = await conn.run_sync(lambda c: inspect(c).get_unique_constraints("delivery"))
        assert [u["column_names"] for u in uniques] == [["alert_id", "openid"]]


async def test_postgres_delivery_range_upgrade() -> None:
    await _on_postgres(_delivery_range_upgrade)


@pytest.mark.embedded
async def test_sqlite_delivery_range_upgrade(tmp_path: Path) -> None:
    await _on_sqlite(tmp_path / "range.db", _delivery_range_upgrade)
