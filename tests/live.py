"""Browser-test fixtures shared by every feature: the real app on a loopback port, and Chromium.

Use them from a test module (pytest_plugins only works in the root conftest):

    from tests.live import chromium, live_app  # noqa: F401  (pytest fixtures)

- `live_app`: the real app (`create_app`, lifespan, every feature, the simulators mounted at
  /_sim) served by uvicorn in a background thread on a free 127.0.0.1 port, against the test
  PostgreSQL database and Redis DB, with `PUBLIC_BASE_URL` set to its own URL. Tables are
  truncated and Redis flushed afterwards. `start_live_app(**settings_overrides)` builds variants.
- `chromium`: Debian's /usr/bin/chromium driven by Python Playwright (never `playwright
  install`). When it is missing the tests fail loudly: CI installs it (`make browser`).
- `screenshot(page, name)`: saves test-artifacts/<name>.png for humans to look at.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, Page, async_playwright
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.redis import Redis
from app.main import create_app
from tests.conftest import _ReadyServer, make_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
START_TIMEOUT_S = 30


@dataclass
class LiveApp:
    """A running app: `url` (no trailing slash), the app object and its settings."""

    url: str
    app: FastAPI
    settings: Settings


@contextmanager
def start_live_app(**overrides: object) -> Iterator[LiveApp]:
    """Serve the real app on a free loopback port until the block ends."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    host, port = sock.getsockname()
    url = f"http://{host}:{port}"
    values: dict[str, object] = {
        "public_base_url": url,
        "host": host,
        "port": port,
        "mount_simulator": True,
    }
    values.update(overrides)
    settings = make_settings(**values)
    app = create_app(settings)  # its lifespan builds engine, Redis and HTTP clients in-thread
    config = uvicorn.Config(
        app, loop="asyncio", log_level="warning", access_log=False, timeout_graceful_shutdown=2
    )
    server = _ReadyServer(config)
    thread = threading.Thread(target=server.run, args=([sock],), daemon=True, name="live-app")
    thread.start()
    try:
        if not server.ready.wait(START_TIMEOUT_S):
            raise RuntimeError(f"live app did not start on {url}")
        yield LiveApp(url=url, app=app, settings=settings)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT_S)
        sock.close()


@pytest.fixture
def live_app(engine: AsyncEngine, redis: Redis, truncate_tables: None) -> Iterator[LiveApp]:
    """The real app over real HTTP (see the module docstring)."""
    with start_live_app() as live:
        yield live


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    """Headless Debian Chromium; fails (never skips) when it is not installed."""
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - one stat at session start
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (make browser)")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            await browser.close()


async def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/ and return its path."""
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path
