"""The dashboard's template quota: WeChat's own figure (getApiQuota through the real client and
the simulator over loopback), cached in Redis, and the labelled estimate when the call fails."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.core.redis import Redis
from app.ops.constants import API_KEY_HEADER, QUOTA_CACHE_KEY, QUOTA_CACHE_S, Role
from tests.conftest import LoopbackServer, make_settings
from tests.ops.conftest import Staff

QUOTA_PATH = "/cgi-bin/openapi/quota/get"
pytestmark = pytest.mark.slow  # a uvicorn simulator per test


@pytest.fixture
def settings(wechat_sim_server: LoopbackServer) -> Settings:
    """The app's WeChat client talks to the loopback simulator, as it would to WeChat."""
    return make_settings(wechat_api_base_url=wechat_sim_server.url)


async def set_used(sim: httpx.AsyncClient, used: int, daily_limit: int = 100_000) -> None:
    body = {"api": "template_send", "used": used, "daily_limit": daily_limit}
    (await sim.post("/_admin/quota", json=body)).raise_for_status()


async def quota_calls(sim: httpx.AsyncClient) -> int:
    return int((await sim.get("/stats")).json()["calls"].get(QUOTA_PATH, 0))


async def dashboard_quota(client: httpx.AsyncClient, staff: Staff) -> dict[str, object]:
    headers = {API_KEY_HEADER: staff.keys[Role.VIEWER]}
    response = await client.get("/api/v1/ops/dashboard", headers=headers)
    assert response.status_code == 200, response.text
    quota: dict[str, object] = response.json()["quota"]
    return quota


async def test_shows_wechats_figure_and_caches_it(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff: Staff,
    wechat_sim_admin: httpx.AsyncClient,
    redis: Redis,
) -> None:
    await set_used(wechat_sim_admin, 1234, daily_limit=200_000)
    quota = await dashboard_quota(client, staff)
    assert quota["source"] == "wechat"
    assert (quota["daily_limit"], quota["used"], quota["remaining"]) == (200_000, 1234, 198_766)
    assert quota["as_of"] is not None
    assert 0 < await redis.ttl(QUOTA_CACHE_KEY) <= QUOTA_CACHE_S

    await set_used(wechat_sim_admin, 2000, daily_limit=200_000)
    assert (await dashboard_quota(client, staff))["used"] == 1234  # from the cache
    assert await quota_calls(wechat_sim_admin) == 1

    await redis.delete(QUOTA_CACHE_KEY)  # what the cache's expiry does after 60 s
    assert (await dashboard_quota(client, staff))["used"] == 2000
    assert await quota_calls(wechat_sim_admin) == 2


async def test_falls_back_to_the_labelled_estimate_when_wechat_fails(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff: Staff,
    wechat_sim_admin: httpx.AsyncClient,
) -> None:
    fault = {"path": QUOTA_PATH, "errcode": -1}
    (await wechat_sim_admin.post("/_admin/faults", json=fault)).raise_for_status()
    quota = await dashboard_quota(client, staff)
    assert quota["source"] == "estimate"
    assert (quota["daily_limit"], quota["used"], quota["as_of"]) == (100_000, 0, None)
    # The failure is remembered briefly: the next page load does not wait for WeChat again.
    assert (await dashboard_quota(client, staff))["source"] == "estimate"
    assert await quota_calls(wechat_sim_admin) == 1


async def test_push_preview_uses_the_same_figure(
    app: FastAPI,
    client: httpx.AsyncClient,
    staff: Staff,
    wechat_sim_admin: httpx.AsyncClient,
) -> None:
    await set_used(wechat_sim_admin, 99_990)
    draft = await client.post(
        "/api/v1/ops/pushes",
        json={
            "target": {"kind": "topic", "topic": "marketing"},
            "title": "新功能上线",
            "body": "欢迎体验",
            "category": "marketing",
        },
        headers={API_KEY_HEADER: staff.keys[Role.OPERATOR]},
    )
    assert draft.status_code == 201, draft.text
    detail = await client.get(
        f"/api/v1/ops/pushes/{draft.json()['id']}",
        headers={API_KEY_HEADER: staff.keys[Role.VIEWER]},
    )
    preview = detail.json()["preview"]
    assert (preview["quota_remaining"], preview["quota_source"]) == (10, "wechat")
