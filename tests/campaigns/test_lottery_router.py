"""The lottery and segments ops API: roles, refused configs as 400, a draw, reconciliation."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI

from app.ops.constants import Role
from tests.campaigns.lottery_support import campaign_body
from tests.content.ops_keys import api_key_headers

BASE = "/api/v1/ops/campaigns"


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
        now = app.state.clock.now()
        window = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(days=1)}
        body = campaign_body(**window).model_dump(mode="json")
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
