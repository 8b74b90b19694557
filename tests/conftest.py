"""Shared fixtures: a real PostgreSQL database and Redis DB per run, app clients, builders.

Environment knobs (so parallel runs on one machine do not collide):
- WXB_TEST_PG_ADMIN_URL  admin DSN that creates the test database (default: postgres@127.0.0.1/test)
- WXB_TEST_DB_NAME       database created for this run (default: wxbroker_test)
- WXB_TEST_REDIS_URL     Redis logical DB for this run (default: redis://127.0.0.1:6379/9)
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import uvicorn
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
from app.wechat.client import WeChatClient, WeChatClientConfig
from app.wechat.transport import AiohttpTransport, HttpxTransport

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
    # Only tables the migrations created: a model whose migration is still being written must
    # not break every other test (tests/test_migrations.py catches the drift itself).
    async with engine.begin() as conn:
        existing = set(
            (
                await conn.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
                )
            )
            .scalars()
            .all()
        )
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables if t.name in existing)
        if names:
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


# -- WeChat client against the simulator over real loopback HTTP (helper "client") ----------


class _ReadyServer(uvicorn.Server):
    """uvicorn that tells the test thread when it accepts connections (no polling)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        self.ready.set()


@dataclass
class LoopbackServer:
    """An ASGI app served by uvicorn in a background thread on a free loopback port."""

    app: FastAPI
    url: str = ""
    _server: _ReadyServer | None = None
    _thread: threading.Thread | None = None

    def start(self) -> LoopbackServer:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(
            self.app,
            loop="asyncio",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._server = _ReadyServer(config)
        self._thread = threading.Thread(target=self._server.run, args=([sock],), daemon=True)
        self._thread.start()
        if not self._server.ready.wait(15):
            raise RuntimeError("loopback server did not start")
        return self

    def stop(self) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.should_exit = True
        self._thread.join(15)


@pytest.fixture
def wechat_sim_server(clock: FakeClock) -> Iterator[LoopbackServer]:
    """The WeChat simulator (strict: auto_fans off, no callbacks) on a real loopback port."""
    server = LoopbackServer(create_wechat_simulator(make_sim_config(clock))).start()
    yield server
    server.stop()


@pytest.fixture
async def wechat_sim_admin(wechat_sim_server: LoopbackServer) -> AsyncIterator[httpx.AsyncClient]:
    """httpx on the loopback simulator: admin API, /stats, inboxes."""
    async with httpx.AsyncClient(base_url=wechat_sim_server.url, timeout=10) as c:
        yield c


def make_wechat_client(
    base_url: str, redis: Redis, clock: FakeClock | None = None, **config: object
) -> WeChatClient:
    """The real client (httpx + aiohttp transports) for the test account at `base_url`."""
    values: dict[str, object] = {
        "app_id": TEST_APP_ID,
        "app_secret": TEST_APP_SECRET,
        "base_url": base_url,
        "timeout_s": 5.0,
    }
    values.update(config)
    cfg = WeChatClientConfig(**values)  # type: ignore[arg-type]
    return WeChatClient(
        cfg,
        redis=redis,
        transport=HttpxTransport(httpx.AsyncClient(), timeout_s=cfg.timeout_s, owned=True),
        send_transport=AiohttpTransport(timeout_s=cfg.timeout_s),
        clock=clock,
    )


@pytest.fixture
async def wechat(
    wechat_sim_server: LoopbackServer, redis: Redis, clock: FakeClock
) -> AsyncIterator[WeChatClient]:
    """The product WeChatClient talking to the loopback simulator, tokens in the test Redis."""
    client = make_wechat_client(wechat_sim_server.url, redis, clock)
    yield client
    await client.aclose()
