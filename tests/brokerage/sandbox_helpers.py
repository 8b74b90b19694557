"""Builders shared by the brokerage, SMS and sandbox tests: a sandbox counter and clients to it."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import cache

import httpx
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from app.brokerage.client import HttpBrokerageGateway
from app.core.time import FakeClock
from app.simulator.broker import create_broker_sandbox
from app.simulator.broker_state import BrokerSandbox, BrokerSandboxConfig

# Wednesday 2026-01-07 14:30 Beijing: a trading day, after the 2026 New Year closure.
TRADING_NOW = datetime(2026, 1, 7, 6, 30, tzinfo=UTC)
BASE = "http://broker.test"


@cache
def shared_private_pem() -> str:
    """One RSA key for the whole run: generating 2048-bit keys per test is slow."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def make_sandbox(clock: FakeClock | None = None, **overrides: object) -> FastAPI:
    values: dict[str, object] = {
        "clock": clock or FakeClock(TRADING_NOW),
        "private_key_pem": shared_private_pem(),
        "seed": 7,
        "max_hang_s": 30.0,
    }
    values.update(overrides)
    return create_broker_sandbox(BrokerSandboxConfig(**values))  # type: ignore[arg-type]


def sandbox_of(app: FastAPI) -> BrokerSandbox:
    sandbox: BrokerSandbox = app.state.sandbox
    return sandbox


@asynccontextmanager
async def loopback(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` with uvicorn on a free loopback port (in this event loop); yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # A request the sandbox keeps hanging (the `timeout` fault) must not hold the shutdown.
    config = uvicorn.Config(
        app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=0.1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # startup failed: raise its error
            await asyncio.sleep(0.001)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def http_to(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


def gateway_over(
    http: httpx.AsyncClient, *, api_key: str = "", timeout_s: float = 3.0
) -> HttpBrokerageGateway:
    return HttpBrokerageGateway(http, base_url=BASE, api_key=api_key, timeout_s=timeout_s)


async def latest_code(http: httpx.AsyncClient, phone: str) -> str:
    """Read the code the sandbox 'texted', as a person would on the admin page."""
    response = await http.get(f"{BASE}/_admin/sms/{phone}")
    assert response.status_code == 200, response.text
    code: str = response.json()["latest"]["code"]
    return code
