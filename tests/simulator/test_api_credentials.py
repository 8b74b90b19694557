"""Token, stable_token, JS-SDK ticket, quota and clear_quota endpoints of the simulator."""

from __future__ import annotations

import httpx
import pytest

from app.core.time import FakeClock
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET
from tests.simulator.conftest import call, fetch_token

CREDS = {"grant_type": "client_credential", "appid": TEST_APP_ID, "secret": TEST_APP_SECRET}


async def errcode_of(client: httpx.AsyncClient, token: str) -> int:
    body = await call(client, "/cgi-bin/template/get_all_private_template", token)
    return int(body["errcode"])


class TestToken:
    async def test_issues_a_token_valid_for_7200_seconds(
        self, wechat_sim_client: httpx.AsyncClient
    ) -> None:
        body = (await wechat_sim_client.get("/cgi-bin/token", params=CREDS)).json()
        assert body["expires_in"] == 7200
        assert len(body["access_token"]) >= 100
        assert await errcode_of(wechat_sim_client, body["access_token"]) == 0

    async def test_a_new_token_invalidates_the_previous_one(
        self, wechat_sim_client: httpx.AsyncClient
    ) -> None:
        first = await fetch_token(wechat_sim_client)
        second = await fetch_token(wechat_sim_client)
        assert first != second
        assert await errcode_of(wechat_sim_client, first) == 40001
        assert await errcode_of(wechat_sim_client, second) == 0

    async def test_overlap_setting_keeps_the_previous_token_briefly(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await wechat_sim_client.post("/_admin/settings", json={"token_overlap_s": 300})
        first = await fetch_token(wechat_sim_client)
        await fetch_token(wechat_sim_client)
        assert await errcode_of(wechat_sim_client, first) == 0
        clock.advance(301)
        assert await errcode_of(wechat_sim_client, first) == 40001

    async def test_expired_token_answers_42001(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        token = await fetch_token(wechat_sim_client)
        clock.advance(7200)
        assert await errcode_of(wechat_sim_client, token) == 42001

    async def test_missing_and_unknown_tokens(self, wechat_sim_client: httpx.AsyncClient) -> None:
        path = "/cgi-bin/template/get_all_private_template"
        assert (await call(wechat_sim_client, path, None))["errcode"] == 41001
        assert (await call(wechat_sim_client, path, "not-a-token"))["errcode"] == 40001

    @pytest.mark.parametrize(
        ("override", "errcode"),
        [
            ({"appid": "wx_other"}, 40013),
            ({"secret": "wrong"}, 40125),
            ({"grant_type": "password"}, 40002),
            ({"appid": ""}, 41002),
            ({"secret": ""}, 41004),
        ],
    )
    async def test_bad_credentials(
        self, wechat_sim_client: httpx.AsyncClient, override: dict[str, str], errcode: int
    ) -> None:
        body = (await wechat_sim_client.get("/cgi-bin/token", params={**CREDS, **override})).json()
        assert body["errcode"] == errcode
        assert "access_token" not in body

    async def test_daily_token_quota(self, wechat_sim_client: httpx.AsyncClient) -> None:
        await wechat_sim_client.post("/_admin/quota", json={"api": "token", "used": 2000})
        body = (await wechat_sim_client.get("/cgi-bin/token", params=CREDS)).json()
        assert body["errcode"] == 45009

    async def test_stats_count_issued_tokens(self, wechat_sim_client: httpx.AsyncClient) -> None:
        await fetch_token(wechat_sim_client)
        await fetch_token(wechat_sim_client)
        stats = (await wechat_sim_client.get("/stats")).json()
        assert stats["token_issued"] == 2
        assert stats["calls"]["/cgi-bin/token"] == 2


class TestStableToken:
    async def stable(self, client: httpx.AsyncClient, **extra: object) -> dict[str, object]:
        body = {**CREDS, **extra}
        response = await client.post("/cgi-bin/stable_token", json=body)
        result: dict[str, object] = response.json()
        return result

    async def test_same_token_while_valid(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        first = await self.stable(wechat_sim_client)
        clock.advance(600)
        second = await self.stable(wechat_sim_client)
        assert first["access_token"] == second["access_token"]
        assert second["expires_in"] == 7200 - 600
        stats = (await wechat_sim_client.get("/stats")).json()
        assert (stats["token_issued"], stats["stable_token_minted"]) == (2, 1)

    async def test_rolled_five_minutes_before_expiry_old_still_works(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        first = await self.stable(wechat_sim_client)
        clock.advance(7000)
        second = await self.stable(wechat_sim_client)
        assert second["access_token"] != first["access_token"]
        assert second["expires_in"] == 7200
        assert await errcode_of(wechat_sim_client, str(first["access_token"])) == 0

    async def test_force_refresh_invalidates_and_is_rate_limited(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        first = await self.stable(wechat_sim_client)
        forced = await self.stable(wechat_sim_client, force_refresh=True)
        assert forced["access_token"] != first["access_token"]
        assert await errcode_of(wechat_sim_client, str(first["access_token"])) == 40001
        again = await self.stable(wechat_sim_client, force_refresh=True)
        assert again["errcode"] == 45011
        clock.advance(31)
        assert "access_token" in await self.stable(wechat_sim_client, force_refresh=True)

    async def test_force_refresh_at_most_20_a_day(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        for _ in range(20):
            assert "access_token" in await self.stable(wechat_sim_client, force_refresh=True)
            clock.advance(31)
        assert (await self.stable(wechat_sim_client, force_refresh=True))["errcode"] == 45009

    async def test_independent_of_plain_tokens(self, wechat_sim_client: httpx.AsyncClient) -> None:
        stable = await self.stable(wechat_sim_client)
        await fetch_token(wechat_sim_client)
        assert await errcode_of(wechat_sim_client, str(stable["access_token"])) == 0

    async def test_bad_body(self, wechat_sim_client: httpx.AsyncClient) -> None:
        assert (await self.stable(wechat_sim_client, secret="x"))["errcode"] == 40125
        assert (await self.stable(wechat_sim_client, force_refresh="yes"))["errcode"] == 47001
        raw = await wechat_sim_client.post("/cgi-bin/stable_token", content=b"{not json")
        assert raw.json()["errcode"] == 47001


class TestTicketAndQuota:
    async def test_jsapi_ticket_is_reused_while_valid(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        first = await call(wechat_sim_client, "/cgi-bin/ticket/getticket", token)
        second = await call(
            wechat_sim_client, "/cgi-bin/ticket/getticket", token, params={"type": "jsapi"}
        )
        assert first["errcode"] == 0
        assert first["expires_in"] == 7200
        assert first["ticket"] == second["ticket"]
        bad = await call(
            wechat_sim_client, "/cgi-bin/ticket/getticket", token, params={"type": "x"}
        )
        assert bad["errcode"] == 40097

    async def test_quota_get_and_clear(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        path = {"cgi_path": "/cgi-bin/message/template/send"}
        await wechat_sim_client.post("/_admin/quota", json={"api": "template_send", "used": 7})
        body = await call(wechat_sim_client, "/cgi-bin/openapi/quota/get", token, json=path)
        assert body["quota"] == {"daily_limit": 100_000, "used": 7, "remain": 99_993}
        cleared = await call(
            wechat_sim_client, "/cgi-bin/clear_quota", token, json={"appid": TEST_APP_ID}
        )
        assert cleared["errcode"] == 0
        body = await call(wechat_sim_client, "/cgi-bin/openapi/quota/get", token, json=path)
        assert body["quota"]["used"] == 0

    async def test_quota_get_unknown_or_malformed_path(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        body = await call(
            wechat_sim_client, "/cgi-bin/openapi/quota/get", token, json={"cgi_path": "/x"}
        )
        assert body["errcode"] == 76021
        for malformed in ({"cgi_path": "cgi-bin/token"}, {"cgi_path": 7}, {}):
            body = await call(
                wechat_sim_client, "/cgi-bin/openapi/quota/get", token, json=malformed
            )
            assert body["errcode"] == 76003

    async def test_clear_quota_limits(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        wrong = await call(wechat_sim_client, "/cgi-bin/clear_quota", token, json={"appid": "wx"})
        assert wrong["errcode"] == 40013
        v2 = {"appid": TEST_APP_ID, "appsecret": TEST_APP_SECRET}
        for _ in range(10):
            assert (await call(wechat_sim_client, "/cgi-bin/clear_quota/v2", None, json=v2))[
                "errcode"
            ] == 0
        body = await call(
            wechat_sim_client, "/cgi-bin/clear_quota", token, json={"appid": TEST_APP_ID}
        )
        assert body["errcode"] == 48006

    async def test_daily_counters_reset_at_beijing_midnight(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await wechat_sim_client.post("/_admin/quota", json={"api": "token", "used": 2000})
        assert (await wechat_sim_client.get("/cgi-bin/token", params=CREDS)).json()[
            "errcode"
        ] == 45009
        clock.advance(24 * 3600)
        assert (
            "access_token" in (await wechat_sim_client.get("/cgi-bin/token", params=CREDS)).json()
        )
