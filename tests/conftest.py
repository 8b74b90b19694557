"""Shared fixtures: a real PostgreSQL database and Redis DB per run, app clients, builders.

Environment knobs (so parallel runs on one machine do not collide):
- WXB_TEST_PG_ADMIN_URL  admin DSN used to create the test database (default: postgres@127.0.0.1/test)
- WXB_TEST_DB_NAME       database created for this run (default: wxbroker_test)
- WXB_TEST_REDIS_URL     Redis logical DB for this run (default: redis://127.0.0.1:6379/9)
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.db import Base, create_engine, create_sessionmaker
from app.core.migrate import run_on_engine
from app.core.redis import Redis, create_redis
from app.core.resources import Resources
from app.core.time import FakeClock
from app.main import create_app
from app.simulator.config import SimulatorConfig
from app.simulator.wechat_api import create_wechat_simulator

PG_ADMIN_URL = os.environ.get("WXB_TEST_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/test")
TEST_DB_NAME = os.environ.get("WXB_TEST_DB_NAME", "wxbroker_test")
REDIS_URL = os.environ.get("WXB_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
SHARED = Path(__file__).resolve().parents[2] / "shared"
WECHAT_SHARED = Path(os.environ.get("WXB_SHARED_WECHAT", str(SHARED / "wechat")))

TEST_TOKEN = "brokerToken2024"
TEST_AES_KEY = "JbVZg98zFzY8OzY23qPGc0K3Zkny3ZSG3J4rdNlMgOG"
TEST_APP_ID = "wx1234567890abcdef"


def pg_url(db_name: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{db_name}"


async def recreate_database(name: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: dev mode (no placeholder refusal) with explicit secrets."""
    values: dict[str, object] = {
        "environment": "dev",
        "database_url": pg_url(TEST_DB_NAME),
        "redis_url": REDIS_URL,
        "wechat_app_id": TEST_APP_ID,
        "wechat_app_secret": "test-app-secret",
        "wechat_token": TEST_TOKEN,
        "wechat_encoding_aes_key": TEST_AES_KEY,
        "secret_key": "test-secret-key",
        "ingest_hmac_secrets": "test-ingest-secret",
        "public_base_url": "http://testserver",
        "run_worker_in_process": False,
        "log_json": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    await recreate_database(TEST_DB_NAME)
    eng = create_engine(pg_url(TEST_DB_NAME), pool_size=5)
    await run_on_engine(eng, "upgrade", "head")
    yield eng
    await eng.dispose()


@pytest.fixture
async def session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session whose work, commits included, is rolled back at teardown."""
    async with engine.connect() as conn:
        outer = await conn.begin()
        async with AsyncSession(
            bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
        ) as s:
            yield s
        await outer.rollback()


async def truncate_all(engine: AsyncEngine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    if names:
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture
async def truncate_tables(engine: AsyncEngine) -> AsyncIterator[None]:
    """For tests that commit from several sessions: wipe every table afterwards."""
    yield
    await truncate_all(engine)


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = create_redis(REDIS_URL)
    await client.flushdb()
    yield client
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
async def app(
    settings: Settings, engine: AsyncEngine, redis: Redis, truncate_tables: None
) -> AsyncIterator[FastAPI]:
    """The real app on the test PostgreSQL and Redis, lifespan running, tables wiped after."""
    async with httpx.AsyncClient() as http:
        resources = Resources(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=redis,
            http=http,
            owned=False,
        )
        application = create_app(settings, resources)
        async with application.router.lifespan_context(application):
            yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


TEST_APP_SECRET = "test-app-secret"


def make_sim_config(clock: FakeClock, **overrides: object) -> SimulatorConfig:
    """The test account as the WeChat simulator knows it: strict (auto_fans off), no callbacks."""
    values: dict[str, object] = {
        "app_id": TEST_APP_ID,
        "app_secret": TEST_APP_SECRET,
        "token": TEST_TOKEN,
        "encoding_aes_key": TEST_AES_KEY,
        "webhook_url": None,
        "auto_fans": False,
        "callback_enabled": False,
        "clock": clock,
        "seed": 20240501,
    }
    values.update(overrides)
    return SimulatorConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
async def wechat_sim(clock: FakeClock) -> AsyncIterator[FastAPI]:
    """The WeChat API simulator app (ASGI) on the shared FakeClock; state: `.state.simulator`.

    Drive it with `httpx.ASGITransport(app=wechat_sim)` (see `wechat_sim_client`) or serve it.
    """
    application = create_wechat_simulator(make_sim_config(clock))
    yield application
    await application.state.simulator.aclose()


@pytest.fixture
async def wechat_sim_client(wechat_sim: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Plain httpx client on the simulator (admin API, stats, inboxes, raw WeChat calls)."""
    transport = httpx.ASGITransport(app=wechat_sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://wechat-sim") as c:
        yield c
