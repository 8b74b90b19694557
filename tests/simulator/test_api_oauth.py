"""OAuth2 web authorisation of the simulator: authorize page, code exchange, userinfo."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.core.time import FakeClock
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET
from tests.simulator.conftest import OPENID, call

REDIRECT = "https://broker.example.com/h5/oauth/callback"


async def authorize(
    client: httpx.AsyncClient, scope: str = "snsapi_userinfo", **extra: str
) -> httpx.Response:
    params = {
        "appid": TEST_APP_ID,
        "redirect_uri": REDIRECT,
        "response_type": "code",
        "scope": scope,
        "state": "csrf123",
        **extra,
    }
    return await client.get("/connect/oauth2/authorize", params=params)


async def code_for(client: httpx.AsyncClient, scope: str = "snsapi_userinfo") -> str:
    response = await authorize(client, scope, openid=OPENID)
    return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]


async def exchange(client: httpx.AsyncClient, code: str, **extra: str) -> dict[str, object]:
    params = {
        "appid": TEST_APP_ID,
        "secret": TEST_APP_SECRET,
        "code": code,
        "grant_type": "authorization_code",
        **extra,
    }
    return await call(client, "/sns/oauth2/access_token", None, params=params)


class TestAuthorize:
    async def test_redirects_with_code_and_state(
        self, wechat_sim_client: httpx.AsyncClient
    ) -> None:
        response = await authorize(wechat_sim_client, openid=OPENID)
        assert response.status_code == 302
        target = urlsplit(response.headers["location"])
        assert f"{target.scheme}://{target.netloc}{target.path}" == REDIRECT
        query = parse_qs(target.query)
        assert query["state"] == ["csrf123"]
        assert len(query["code"][0]) > 10

    async def test_refusal_returns_only_state(self, wechat_sim_client: httpx.AsyncClient) -> None:
        response = await authorize(wechat_sim_client, openid=OPENID, refuse="1")
        assert parse_qs(urlsplit(response.headers["location"]).query) == {"state": ["csrf123"]}

    async def test_without_openid_shows_a_chooser(
        self, wechat_sim_client: httpx.AsyncClient, fan: str
    ) -> None:
        response = await authorize(wechat_sim_client)
        assert response.status_code == 200
        assert fan in response.text
        assert "<form" in response.text

    @pytest.mark.parametrize(
        "override",
        [
            {"appid": "wx-other"},
            {"scope": "snsapi_login"},
            {"response_type": "token"},
            {"redirect_uri": "javascript:x"},
        ],
    )
    async def test_bad_requests_get_400(
        self, wechat_sim_client: httpx.AsyncClient, override: dict[str, str]
    ) -> None:
        response = await authorize(wechat_sim_client, openid=OPENID, **override)
        assert response.status_code == 400


class TestCodeExchange:
    async def test_code_gives_token_and_userinfo(
        self, wechat_sim_client: httpx.AsyncClient
    ) -> None:
        grant = await exchange(wechat_sim_client, await code_for(wechat_sim_client))
        assert (grant["openid"], grant["scope"], grant["expires_in"]) == (
            OPENID,
            "snsapi_userinfo",
            7200,
        )
        params = {"access_token": str(grant["access_token"]), "openid": OPENID, "lang": "zh_CN"}
        info = await call(wechat_sim_client, "/sns/userinfo", None, params=params)
        assert info["openid"] == OPENID
        assert "nickname" in info
        auth = await call(
            wechat_sim_client,
            "/sns/auth",
            None,
            params={"access_token": params["access_token"], "openid": OPENID},
        )
        assert auth["errcode"] == 0

    async def test_code_is_single_use(self, wechat_sim_client: httpx.AsyncClient) -> None:
        code = await code_for(wechat_sim_client)
        await exchange(wechat_sim_client, code)
        assert (await exchange(wechat_sim_client, code))["errcode"] == 40163

    async def test_code_expires_after_five_minutes(
        self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        code = await code_for(wechat_sim_client)
        clock.advance(300)
        assert (await exchange(wechat_sim_client, code))["errcode"] == 42003

    async def test_bad_exchanges(self, wechat_sim_client: httpx.AsyncClient) -> None:
        assert (await exchange(wechat_sim_client, "bogus"))["errcode"] == 40029
        code = await code_for(wechat_sim_client)
        assert (await exchange(wechat_sim_client, code, secret="x"))["errcode"] == 40125
        assert (await exchange(wechat_sim_client, code, grant_type="x"))["errcode"] == 40002

    async def test_base_scope_cannot_read_userinfo(
        self, wechat_sim_client: httpx.AsyncClient
    ) -> None:
        grant = await exchange(wechat_sim_client, await code_for(wechat_sim_client, "snsapi_base"))
        params = {"access_token": str(grant["access_token"]), "openid": OPENID}
        assert (await call(wechat_sim_client, "/sns/userinfo", None, params=params))[
            "errcode"
        ] == 48001
        params["openid"] = "o-someone-else"
        assert (await call(wechat_sim_client, "/sns/userinfo", None, params=params))[
            "errcode"
        ] == 40003

    async def test_refresh(self, wechat_sim_client: httpx.AsyncClient, clock: FakeClock) -> None:
        grant = await exchange(wechat_sim_client, await code_for(wechat_sim_client))
        params = {
            "appid": TEST_APP_ID,
            "grant_type": "refresh_token",
            "refresh_token": str(grant["refresh_token"]),
        }
        refreshed = await call(wechat_sim_client, "/sns/oauth2/refresh_token", None, params=params)
        assert refreshed["access_token"] != grant["access_token"]
        old = {"access_token": str(grant["access_token"]), "openid": OPENID}
        assert (await call(wechat_sim_client, "/sns/userinfo", None, params=old))[
            "errcode"
        ] == 40001
        bogus = {**params, "refresh_token": "bogus"}
        assert (await call(wechat_sim_client, "/sns/oauth2/refresh_token", None, params=bogus))[
            "errcode"
        ] == 40030
        clock.advance(30 * 24 * 3600)
        assert (await call(wechat_sim_client, "/sns/oauth2/refresh_token", None, params=params))[
            "errcode"
        ] == 42002
