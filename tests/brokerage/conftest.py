"""Fixtures: a sandbox counter on a fake clock and the real HTTP gateway talking to it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from app.brokerage.client import HttpBrokerageGateway
from app.brokerage.fake import InMemoryBrokerageGateway
from app.brokerage.password import PasswordKeyPair
from app.brokerage.transport import AiohttpCounterHttp
from app.core.time import FakeClock
from app.simulator.broker_state import BrokerSandbox
from tests.brokerage.sandbox_helpers import (
    TRADING_NOW,
    gateway_over,
    http_to,
    loopback,
    make_sandbox,
    sandbox_of,
    shared_private_pem,
)


@pytest.fixture
def broker_clock() -> FakeClock:
    return FakeClock(TRADING_NOW)


@pytest.fixture
def sandbox_app(broker_clock: FakeClock) -> FastAPI:
    return make_sandbox(broker_clock)


@pytest.fixture
def sandbox(sandbox_app: FastAPI) -> BrokerSandbox:
    return sandbox_of(sandbox_app)


@pytest.fixture
async def http(sandbox_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with http_to(sandbox_app) as client:
        yield client


@pytest.fixture(params=["httpx-asgi", "aiohttp-loopback"])
async def gateway(
    request: pytest.FixtureRequest, http: httpx.AsyncClient, sandbox_app: FastAPI
) -> AsyncIterator[HttpBrokerageGateway]:
    """The gateway over both transports: the app's shared httpx client (in-process, as in dev
    and tests) and the aiohttp pool a configured counter gets (over real loopback HTTP)."""
    if request.param == "httpx-asgi":
        yield gateway_over(http)
        return
    async with loopback(sandbox_app) as base:
        gateway = HttpBrokerageGateway(AiohttpCounterHttp(timeout_s=3.0), base_url=base)
        try:
            yield gateway
        finally:
            await gateway.aclose()


@pytest.fixture
def fake(broker_clock: FakeClock) -> InMemoryBrokerageGateway:
    return InMemoryBrokerageGateway(
        clock=broker_clock,
        keypair=PasswordKeyPair.from_pem(shared_private_pem()),
        code_factory=lambda: "246135",
    )
