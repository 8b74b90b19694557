"""Run Alembic migrations programmatically (CLI `migrate`, embedded start-up, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if database_url:
        cfg.attributes["database_url"] = database_url
    return cfg


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    """Blocking upgrade; runs its own event loop (call outside a running loop)."""
    command.upgrade(alembic_config(database_url), revision)


async def run_on_engine(engine: AsyncEngine, action: str, revision: str) -> None:
    """Upgrade or downgrade through an existing async engine (inside a running loop)."""

    def _run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        getattr(command, action)(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)
