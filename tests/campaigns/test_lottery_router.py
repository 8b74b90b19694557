"""The lottery and segments ops API: roles, refused configs as 400, a draw, reconciliation."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.ops.constants import Role
from tests.campaigns.lottery_support import campaign_body
from tests.content.ops_keys import api_key_headers, audit_entries

BASE = "/api/v1/ops/campaigns"


def open_campaign(app: FastAPI) -> dict[str, object]:
    """The body of a campaign whose window is open now."""
    now = app.state.clock.now()
    window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
    return campaign_body(**window).model_dump(mode="json")


class TestLotteryApi:
    async def test_refused_config_is_a_400_problem(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        headers = await api_key_headers(app, Role.OPERATOR)
        body = campaign_body(eligibility=["share_to_friends"]).model_dump(mode="json")
        answer = await client.post(f"{BASE}/lottery", json=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["error"] == "campaigns.campaign_refused"

    async def test_viewer_cannot_create_and_operator_draws_then_reconciles(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        viewer = await api_key_headers(app, Role.VIEWER)
        operator = await api_key_headers(app, Role.OPERATOR)
        body = open_campaign(app)
        assert (await client.post(f"{BASE}/lottery", json=body, headers=viewer)).status_code == 403
        created = await client.post(f"{BASE}/lottery", json=body, headers=operator)
        assert created.status_code == 201
        assert created.json()["prizes"][0]["inventory"] == 10
        drawn = await client.post(
            f"{BASE}/lottery/spring/draw", json={"openid": "oApiFan001"}, headers=operator
        )
        assert drawn.status_code == 200
        assert drawn.json()["decision"] == "won"
        check = await client.get(f"{BASE}/lottery/spring/reconcile", headers=viewer)
        assert check.json()["agrees"] is True
        decisions = await client.get(f"{BASE}/lottery/spring/decisions", headers=viewer)
        assert decisions.json()[0]["openid"] != "oApiFan001"  # masked
        sizes = await client.get(f"{BASE}/segments", headers=viewer)
        assert {s["segment"] for s in sizes.json()} >= {"auto.bound_customers"}


class TestCloseCampaign:
    async def test_operator_closes_draws_stop_and_the_close_is_audited_once(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        viewer = await api_key_headers(app, Role.VIEWER)
        operator = await api_key_headers(app, Role.OPERATOR)
        body = open_campaign(app)
        assert (await client.post(f"{BASE}/lottery", json=body, headers=operator)).is_success
        close = {"reason": "compliance asked to stop"}
        refused = await client.post(f"{BASE}/lottery/spring/close", json=close, headers=viewer)
        assert refused.status_code == 403
        closed = await client.post(f"{BASE}/lottery/spring/close", json=close, headers=operator)
        assert closed.status_code == 200
        assert closed.json()["is_active"] is False
        again = await client.post(f"{BASE}/lottery/spring/close", json=close, headers=operator)
        assert again.status_code == 200
        drawn = await client.post(
            f"{BASE}/lottery/spring/draw", json={"openid": "oApiFan002"}, headers=operator
        )
        assert drawn.json()["decision"] == "refused"
        assert drawn.json()["reason"] == "campaign closed"
        [entry] = await audit_entries(app, "campaign")
        assert entry["action"] == "campaign.close"
        assert entry["target_id"] == "spring"
        assert entry["after"] == {"is_active": False, "reason": "compliance asked to stop"}

    async def test_unknown_campaign_is_404_and_a_missing_reason_is_422(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        operator = await api_key_headers(app, Role.OPERATOR)
        missing = await client.post(
            f"{BASE}/lottery/nosuch/close", json={"reason": "x"}, headers=operator
        )
        assert missing.status_code == 404
        assert missing.json()["error"].startswith("campaigns.")
        blank = await client.post(f"{BASE}/lottery/nosuch/close", json={}, headers=operator)
        assert blank.status_code == 422
