"""POST alert → delivery rows pending → push relay and worker → the simulator's fan inbox."""

from __future__ import annotations

import random

import httpx
from fastapi import FastAPI

from app.alerts import templates
from app.alerts.constants import AlertType
from app.core.db import unit_of_work
from app.core.time import FakeClock
from app.push import stream
from app.push.constants import PushConfig
from app.push.relay import relay_once
from app.push.worker import WorkerContext, run_once
from app.wechat.client import WeChatClient
from tests.alerts.conftest import PostJson, add_fans, delivery_rows
from tests.alerts.samples import alert_body

FANS = ["oFanE00001", "oFanE00002"]


async def _register(sim: httpx.AsyncClient, alert_type: AlertType) -> None:
    spec = templates.SPECS[alert_type]
    resp = await sim.post(
        "/_admin/templates",
        json={
            "template_id": spec.default_template_id,
            "title": spec.title,
            "content": spec.content(),
        },
    )
    assert resp.status_code == 200, resp.text
    for openid in FANS:
        resp = await sim.post("/_admin/fans", json={"openid": openid, "subscribed": True})
        assert resp.status_code == 200, resp.text


async def test_posted_alert_reaches_every_fan_inbox_once(
    alerts_app: FastAPI,
    post_signed: PostJson,
    wechat: WeChatClient,
    wechat_sim_admin: httpx.AsyncClient,
    clock: FakeClock,
) -> None:
    await _register(wechat_sim_admin, AlertType.TRADE_FILL)
    async with unit_of_work(alerts_app.state.sessionmaker) as session:
        await add_fans(session, FANS)
    target = {"kind": "openids", "openids": FANS}
    resp = await post_signed("/api/v1/alerts", alert_body("trade_fill", target))
    assert resp.status_code == 201, resp.text
    alert_id = resp.json()["alert_id"]

    redis, sessionmaker = alerts_app.state.redis, alerts_app.state.sessionmaker
    config = PushConfig(block_ms=None, autoclaim_interval_s=0.0)
    await stream.ensure_groups(redis)
    assert await relay_once(sessionmaker, redis, clock=clock, config=config) == 2
    ctx = WorkerContext(
        redis=redis,
        sessionmaker=sessionmaker,
        wechat=wechat,
        clock=clock,
        config=config,
        consumer="e2e",
        rng=random.Random(1),
    )
    while await run_once(ctx):
        pass

    async with unit_of_work(sessionmaker) as session:
        rows = await delivery_rows(session, alert_id)
    assert {r.status for r in rows} == {"sent"}
    for openid in FANS:
        inbox = (await wechat_sim_admin.get(f"/inbox/{openid}")).json()["messages"]
        assert len(inbox) == 1
        assert "贵州茅台(600519)" in str(inbox[0])
    stats = (await wechat_sim_admin.get("/stats")).json()
    assert stats["template_unique_client_msg_ids"] == 2
