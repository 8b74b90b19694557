"""Helpers for simulator tests: the raw WeChat calls a client would make."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.simulator.state import WeChatSimulator
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET

OPENID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
OTHER_OPENID = "oZyXwVuTsRqPoNmLkJiHgFeDcBa9"
TRADE_FILL = "SimTradeFill_b1Qz7VbH9sKf2LmN4pR6tW8yA0cE3g"
SERVICE_NOTE = "SimServiceNote_g6Vd2AgN4xPk7QrT9uW1yB3dF5hJ"


def trade_fill_data(**overrides: str) -> dict[str, dict[str, str]]:
    values = {
        "thing1": "贵州茅台",
        "phrase2": "买入",
        "amount3": "¥1688.00",
        "number4": "100",
        "time5": "2026-01-05 10:31:02",
        **overrides,
    }
    return {key: {"value": value} for key, value in values.items()}


async def fetch_token(client: httpx.AsyncClient) -> str:
    params = {"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": TEST_APP_SECRET}
    body = (await client.get("/cgi-bin/token", params=params)).json()
    token: str = body["access_token"]
    return token


async def call(
    client: httpx.AsyncClient,
    path: str,
    token: str | None,
    *,
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """GET without a body, POST with one; returns WeChat's JSON answer."""
    query = {**(params or {}), **({"access_token": token} if token is not None else {})}
    if json is None:
        response = await client.get(path, params=query)
    else:
        response = await client.post(path, params=query, json=json)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
def sim(wechat_sim: FastAPI) -> WeChatSimulator:
    simulator: WeChatSimulator = wechat_sim.state.simulator
    return simulator


@pytest.fixture
async def token(wechat_sim_client: httpx.AsyncClient) -> str:
    return await fetch_token(wechat_sim_client)


@pytest.fixture
async def fan(wechat_sim_client: httpx.AsyncClient) -> str:
    response = await wechat_sim_client.post("/_admin/fans", json={"openid": OPENID})
    assert response.status_code == 200
    return OPENID
