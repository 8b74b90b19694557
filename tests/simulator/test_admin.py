"""Admin API: validation (4xx problem bodies), tokens, reset, fans, inbox paging."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.simulator.conftest import OPENID, TRADE_FILL, call, fetch_token, trade_fill_data

LIST = "/cgi-bin/template/get_all_private_template"


class TestValidation:
    @pytest.mark.parametrize(
        ("path", "body", "status"),
        [
            ("/_admin/faults", {"path": "*", "errcode": -1, "rate": 2}, 422),
            ("/_admin/faults", {"path": "*", "http_status": 200}, 422),
            ("/_admin/faults", {"path": "/etc/passwd", "errcode": -1}, 400),
            ("/_admin/faults", {"path": "*"}, 400),
            ("/_admin/quota", {"api": "rocket_launch", "used": 1}, 400),
            ("/_admin/quota", {"api": "template_send", "used": -1}, 422),
            ("/_admin/rate", {"template_per_second": -5}, 422),
            ("/_admin/fans", {"openid": ""}, 422),
            ("/_admin/templates", {"template_id": "t", "title": "x", "content": "none"}, 400),
            ("/_admin/callback", {"enabled": True, "outcomes": {"maybe": 1}}, 400),
            ("/_admin/callback", {"enabled": True, "mode": "rot13"}, 422),
        ],
    )
    async def test_bad_input_gets_a_problem_body(
        self, wechat_sim_client: httpx.AsyncClient, path: str, body: dict[str, Any], status: int
    ) -> None:
        response = await wechat_sim_client.post(path, json=body)
        assert response.status_code == status
        assert "error" in response.json()

    async def test_non_json_body(self, wechat_sim_client: httpx.AsyncClient) -> None:
        response = await wechat_sim_client.post("/_admin/faults", content=b"<xml/>")
        assert response.status_code == 422


class TestTokens:
    async def test_revoke_gives_40001(self, wechat_sim_client: httpx.AsyncClient) -> None:
        token = await fetch_token(wechat_sim_client)
        assert (await wechat_sim_client.post("/_admin/tokens/revoke")).json() == {"revoked": 1}
        assert (await call(wechat_sim_client, LIST, token))["errcode"] == 40001

    async def test_expire_gives_42001(self, wechat_sim_client: httpx.AsyncClient) -> None:
        token = await fetch_token(wechat_sim_client)
        await wechat_sim_client.post("/_admin/tokens/expire")
        assert (await call(wechat_sim_client, LIST, token))["errcode"] == 42001
        fresh = await fetch_token(wechat_sim_client)
        assert (await call(wechat_sim_client, LIST, fresh))["errcode"] == 0


class TestStateAndInbox:
    async def send(self, client: httpx.AsyncClient, token: str) -> dict[str, Any]:
        body = {"touser": OPENID, "template_id": TRADE_FILL, "data": trade_fill_data()}
        return await call(client, "/cgi-bin/message/template/send", token, json=body)

    async def test_inbox_paging_with_after(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await self.send(wechat_sim_client, token)
        await self.send(wechat_sim_client, token)
        everything = (await wechat_sim_client.get(f"/inbox/{fan}")).json()["messages"]
        first_seq = everything[0]["seq"]
        later = await wechat_sim_client.get(f"/inbox/{fan}", params={"after": first_seq})
        assert [m["msgid"] for m in later.json()["messages"]] == [everything[1]["msgid"]]

    async def test_reset_returns_to_the_seeded_state(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await self.send(wechat_sim_client, token)
        await wechat_sim_client.post("/_admin/faults", json={"path": "*", "errcode": -1})
        assert (await wechat_sim_client.post("/_admin/reset")).json() == {"ok": True}
        stats = (await wechat_sim_client.get("/stats")).json()
        assert stats["template_accepted"] == stats["faults_active"] == stats["inbox_total"] == 0
        assert (await wechat_sim_client.get("/_admin/fans")).json() == []
        assert (await call(wechat_sim_client, LIST, token))["errcode"] == 40001
        fresh = await fetch_token(wechat_sim_client)
        listing = await call(wechat_sim_client, LIST, fresh)
        assert any(t["template_id"] == TRADE_FILL for t in listing["template_list"])

    async def test_msgids_stay_unique_across_resets(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        first = await self.send(wechat_sim_client, token)
        await wechat_sim_client.post("/_admin/reset")
        await wechat_sim_client.post("/_admin/fans", json={"openid": fan})
        second = await self.send(wechat_sim_client, await fetch_token(wechat_sim_client))
        assert second["msgid"] > first["msgid"]

    async def test_fan_follow_state_round_trip(self, wechat_sim_client: httpx.AsyncClient) -> None:
        body = {"openid": OPENID, "subscribed": True, "scene": "channel_A"}
        created = (await wechat_sim_client.post("/_admin/fans", json=body)).json()
        assert created["qr_scene_str"] == "channel_A"
        await wechat_sim_client.post("/_admin/fans", json={"openid": OPENID, "subscribed": False})
        [listed] = (await wechat_sim_client.get("/_admin/fans")).json()
        assert listed == {"subscribe": 0, "openid": OPENID}
