"""Push drafts: preview, four-eyes approval, sending through the broadcast fan-out, schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.alerts import service as alerts_service
from app.alerts.schemas import PreferencesUpdate
from app.core.db import unit_of_work
from app.core.time import BEIJING
from app.fans.models import Fan
from app.ops import pushes
from app.ops.constants import API_KEY_HEADER, CSRF_HEADER, Role
from app.push.models import Delivery
from tests.ops.conftest import Staff, login

SEGMENT = "vip"


async def seed_fans(app: FastAPI) -> None:
    """vip: f1 (marketing on), f2 (marketing on, in quiet hours now), f3 (marketing off),
    f4 unsubscribed (marketing on)."""
    hour = datetime.now(UTC).astimezone(BEIJING).hour
    async with unit_of_work(app.state.sessionmaker) as session:
        for openid, subscribed in (
            ("oFan000001", True),
            ("oFan000002", True),
            ("oFan000003", True),
            ("oFan000004", False),
        ):
            session.add(Fan(openid=openid, is_subscribed=subscribed))
        await session.flush()
        body = b'{"openids": ["oFan000001", "oFan000002", "oFan000003", "oFan000004"]}'
        await alerts_service.set_segment_members(session, segment=SEGMENT, body=body)
        marketing_on = PreferencesUpdate(categories={"marketing": True})
        for openid in ("oFan000001", "oFan000004"):
            await alerts_service.update_preferences(
                session, openid=openid, update=marketing_on, set_quiet=False
            )
        quiet = PreferencesUpdate(
            categories={"marketing": True}, quiet_start_hour=hour, quiet_end_hour=(hour + 1) % 24
        )
        await alerts_service.update_preferences(
            session, openid="oFan000002", update=quiet, set_quiet=True
        )


DRAFT = {
    "target": {"kind": "segment", "segment": SEGMENT},
    "title": "新版App上线",
    "body": "交易体验全面升级，欢迎更新使用",
    "category": "marketing",
}


async def create(client: httpx.AsyncClient, csrf: str, **overrides: object) -> dict:
    response = await client.post(
        "/api/v1/ops/pushes", json={**DRAFT, **overrides}, headers={CSRF_HEADER: csrf}
    )
    assert response.status_code == 201, response.text
    return response.json()


async def decide(client: httpx.AsyncClient, csrf: str, draft_id: int, verb: str) -> httpx.Response:
    return await client.post(
        f"/api/v1/ops/pushes/{draft_id}/{verb}", json={}, headers={CSRF_HEADER: csrf}
    )


class TestPreview:
    async def test_shows_the_card_recipients_after_preferences_and_quiet_hours_and_quota(
        self, app: FastAPI, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        await seed_fans(app)
        csrf = await login(client, "operator")
        draft = await create(client, csrf)
        assert draft["status"] == "pending_approval"
        detail = (await client.get(f"/api/v1/ops/pushes/{draft['id']}")).json()
        preview = detail["preview"]
        assert preview["in_target"] == 3  # subscribed members of the segment
        assert preview["recipients"] == 1  # f1: f2 is in quiet hours, f3 opted out
        assert preview["quota_cost"] == 1
        template = preview["template"]
        assert template["template_id"] == "wxb_broadcast_v1"
        assert template["title"] == "服务通知"
        assert template["lines"] == ["新版App上线", "交易体验全面升级，欢迎更新使用"]
        assert template["url"].endswith("/h5/notices")

    async def test_advertising_wording_is_refused_like_the_broadcast_api(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        csrf = await login(client, "operator")
        response = await client.post(
            "/api/v1/ops/pushes",
            json={**DRAFT, "body": "限时优惠，开户领红包"},
            headers={CSRF_HEADER: csrf},
        )
        assert response.status_code == 422


class TestFourEyes:
    async def test_the_author_cannot_approve_their_own_draft(
        self, client: httpx.AsyncClient, staff: Staff
    ) -> None:
        csrf = await login(client, "approver")
        draft = await create(client, csrf)
        response = await decide(client, csrf, draft["id"], "approve")
        assert response.status_code == 403
        assert response.json()["error"] == "ops.four_eyes"
        rejected = await decide(client, csrf, draft["id"], "reject")
        assert rejected.json()["error"] == "ops.four_eyes"

    async def test_an_operator_cannot_approve(
        self, client: httpx.AsyncClient, console_client: httpx.AsyncClient, staff: Staff
    ) -> None:
        draft = await create(client, await login(client, "approver"))
        response = await decide(
            console_client, await login(console_client, "operator"), draft["id"], "approve"
        )
        assert response.status_code == 403
        assert response.json()["error"] == "ops.role_required"

    async def test_an_api_key_cannot_approve(self, client: httpx.AsyncClient, staff: Staff) -> None:
        draft = await create(client, await login(client, "operator"))
        response = await client.post(
            f"/api/v1/ops/pushes/{draft['id']}/approve",
            json={},
            headers={API_KEY_HEADER: staff.keys[Role.ADMIN]},
        )
        assert response.status_code == 403
        assert response.json()["error"] == "ops.not_allowed"

    async def test_a_second_approver_sends_it_through_the_broadcast_fan_out(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        console_client: httpx.AsyncClient,
        staff: Staff,
    ) -> None:
        await seed_fans(app)
        draft = await create(client, await login(client, "operator"))
        response = await decide(
            console_client, await login(console_client, "approver2"), draft["id"], "approve"
        )
        assert response.status_code == 200, response.text
        sent = response.json()
        assert sent["status"] == "sent"
        assert sent["approved_by_name"] == "approver2"
        assert sent["recipients"] == 1
        async with app.state.sessionmaker() as session:
            openids = list(
                await session.scalars(
                    select(Delivery.openid).where(Delivery.alert_id == sent["alert_id"])
                )
            )
        assert openids == ["oFan000001"]
        detail = (await client.get(f"/api/v1/ops/pushes/{draft['id']}")).json()
        assert detail["progress"]["pending"] == 1
        assert detail["preview"] is None
        again = await decide(
            console_client, await login(console_client, "approver2"), draft["id"], "approve"
        )
        assert again.status_code == 409
        actions = [
            e["action"]
            for e in (
                await client.get(
                    "/api/v1/ops/audit", headers={API_KEY_HEADER: staff.keys[Role.ADMIN]}
                )
            ).json()
        ]
        assert {"push.draft.create", "push.draft.approve"} <= set(actions)


class TestCancel:
    async def test_only_the_author_or_an_approver_cancels_and_only_before_sending(
        self,
        client: httpx.AsyncClient,
        console_client: httpx.AsyncClient,
        app: FastAPI,
        staff: Staff,
    ) -> None:
        from tests.ops.conftest import add_staff

        await add_staff(app, "operator2", Role.OPERATOR)
        draft = await create(client, author_csrf := await login(client, "operator"))
        other = await decide(
            console_client, await login(console_client, "operator2"), draft["id"], "cancel"
        )
        assert other.status_code == 403
        own = await decide(client, author_csrf, draft["id"], "cancel")
        assert own.json()["status"] == "cancelled"
        assert (await decide(client, author_csrf, draft["id"], "cancel")).status_code == 409


class TestSchedule:
    async def test_an_approved_scheduled_draft_is_sent_by_the_scheduler_when_due(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        console_client: httpx.AsyncClient,
        staff: Staff,
    ) -> None:
        await seed_fans(app)
        at = datetime.now(UTC) + timedelta(hours=2)
        draft = await create(client, await login(client, "operator"), scheduled_at=at.isoformat())
        approved = await decide(
            console_client, await login(console_client, "approver"), draft["id"], "approve"
        )
        assert approved.json()["status"] == "scheduled"
        config = pushes.fan_out_config(app.state.settings)
        maker = app.state.sessionmaker
        assert (
            await pushes.run_scheduler_once(maker, now=at - timedelta(seconds=1), config=config)
            == 0
        )
        assert await pushes.run_scheduler_once(maker, now=at, config=config) == 1
        assert await pushes.run_scheduler_once(maker, now=at, config=config) == 0
        detail = (await client.get(f"/api/v1/ops/pushes/{draft['id']}")).json()
        assert detail["status"] == "sent"
        assert detail["alert_id"] is not None
        async with maker() as session:
            count = await session.scalar(
                select(func.count()).where(Delivery.alert_id == detail["alert_id"])
            )
        assert count == detail["recipients"]

    @pytest.mark.parametrize("delta", [timedelta(seconds=-5), timedelta(days=31)])
    async def test_a_send_time_in_the_past_or_too_far_ahead_is_refused(
        self, client: httpx.AsyncClient, staff: Staff, delta: timedelta
    ) -> None:
        csrf = await login(client, "operator")
        response = await client.post(
            "/api/v1/ops/pushes",
            json={**DRAFT, "scheduled_at": (datetime.now(UTC) + delta).isoformat()},
            headers={CSRF_HEADER: csrf},
        )
        assert response.status_code == 400
        assert response.json()["error"] == "ops.invalid_draft"
