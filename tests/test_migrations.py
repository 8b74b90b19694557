"""Migrations: one head, upgrade → downgrade → upgrade on PostgreSQL and SQLite, no drift."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
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


async def test_postgres_upgrade_downgrade_upgrade() -> None:
    name = f"{TEST_DB_NAME}_migrations"
    await recreate_database(name)
    engine = create_engine(pg_url(name), pool_size=2)
    try:
        await _round_trip(engine)
    finally:
        await engine.dispose()


@pytest.mark.embedded
async def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}")
    try:
        await _round_trip(engine)
    finally:
        await engine.dispose()
