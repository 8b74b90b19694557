"""Dashboard figures and fan lookups (masked, audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI

from app.core.db import unit_of_work
from app.core.time import BEIJING
from app.fans.models import Fan
from app.ops.constants import API_KEY_HEADER, Role
from app.push.models import Alert, Delivery
from app.webhook.models import InboundEvent
from tests.ops.conftest import Staff


async def seed(app: FastAPI) -> datetime:
    now = datetime.now(UTC)
    today = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    async with unit_of_work(app.state.sessionmaker) as session:
        session.add_all(
            [
                Fan(openid="oDash000001", is_subscribed=True),
                Fan(openid="oDash000002", is_subscribed=False),
            ]
        )
        alert = Alert(type="trade_fill", severity="transactional", payload={})
        session.add(alert)
        await session.flush()
        for i, (status, errcode) in enumerate(
            [("delivered", None), ("failed", 43004), ("failed", 43004), ("pending", None)]
        ):
            session.add(
                Delivery(
                    alert_id=alert.id,
                    openid=f"oDash00000{i}",
                    template_id="t",
                    data={},
                    severity="transactional",
                    status=status,
                    errcode=errcode,
                    failed_at=now if status == "failed" else None,
                    sent_at=now if status == "delivered" else None,
                )
            )
        yesterday = today - timedelta(hours=2)
        for event, at in (("subscribe", now), ("subscribe", yesterday), ("unsubscribe", now)):
            session.add(
                InboundEvent(
                    openid="oDash000001",
                    msg_type="event",
                    event=event,
                    wechat_created_at=at,
                    received_at=at,
                )
            )
    return now


async def test_dashboard_counts_today_sends_failures_follows_and_queue(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    now = await seed(app)
    headers = {API_KEY_HEADER: staff.keys[Role.VIEWER]}
    d = (await client.get("/api/v1/ops/dashboard", headers=headers)).json()
    sends = {(r["label"], r["status"]): r["count"] for r in d["sends_today"]}
    assert sends == {
        ("trade_fill", "delivered"): 1,
        ("trade_fill", "failed"): 2,
        ("trade_fill", "pending"): 1,
    }
    assert d["failure_codes"] == [{"label": "43004", "status": None, "count": 2}]
    assert d["subscribed_fans"] == 1
    assert d["queue"]["waiting"] == 1
    assert d["queue"]["lag_seconds"] is not None
    assert d["quota"]["source"] == "estimate"  # the test app's simulator is not reachable
    assert d["quota"]["used"] == 1
    days = {row["day"]: row for row in d["follows"]}
    today = now.astimezone(BEIJING).strftime("%Y-%m-%d")
    assert days[today]["follows"] == 1
    assert days[today]["unfollows"] == 1
    assert sum(r["follows"] for r in d["follows"]) == 2
    assert len(d["follows"]) == 14


async def test_fan_search_and_view_are_masked_and_audited(
    app: FastAPI, client: httpx.AsyncClient, staff: Staff
) -> None:
    await seed(app)
    headers = {API_KEY_HEADER: staff.keys[Role.VIEWER]}
    found = (
        await client.get("/api/v1/ops/fans", params={"q": "oDash000001"}, headers=headers)
    ).json()
    assert [f["openid_masked"] for f in found] == ["oDas***001"]
    detail = (await client.get(f"/api/v1/ops/fans/{found[0]['id']}", headers=headers)).json()
    assert "oDash000001" not in str(detail)
    assert detail["deliveries"][0]["type"] == "trade_fill"
    bad = await client.get("/api/v1/ops/fans", params={"q": "drop table;"}, headers=headers)
    assert bad.status_code == 400
    admin = {API_KEY_HEADER: staff.keys[Role.ADMIN]}
    actions = [e["action"] for e in (await client.get("/api/v1/ops/audit", headers=admin)).json()]
    assert "fan.search" in actions
    assert "fan.view" in actions
