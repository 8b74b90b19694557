"""The real WeChatClient against the simulator over loopback HTTP: endpoints and error classes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.core.redis import Redis, create_redis
from app.core.time import FakeClock
from app.wechat.client import ApiQuota, WeChatClient, WeChatClientConfig, news_message
from app.wechat.errors import (
    ErrorKind,
    InvalidRequestError,
    WeChatApiError,
    WeChatTransportError,
)
from tests.conftest import TEST_APP_ID, LoopbackServer, make_settings, make_wechat_client

pytestmark = pytest.mark.slow  # a uvicorn server per test

FAN = "oFan0000000000000000000000001"
OTHER_FAN = "oFan0000000000000000000000002"
PRICE_ALERT = "SimPriceAlert_c2Rz8WcJ0tLg3MnP5qS7uX9zB1dF4"
PRICE_DATA = {
    "thing1": "贵州茅台",
    "amount2": "¥1688.00",
    "thing3": "股价高于1680元",
    "time4": "2026-01-05 10:00",
}
SEND_PATH = "/cgi-bin/message/template/send"


async def add_fan(admin: httpx.AsyncClient, openid: str = FAN, *, subscribed: bool = True) -> None:
    response = await admin.post("/_admin/fans", json={"openid": openid, "subscribed": subscribed})
    response.raise_for_status()


async def add_fault(admin: httpx.AsyncClient, **fault: Any) -> None:
    (await admin.post("/_admin/faults", json=fault)).raise_for_status()


async def stats(admin: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await admin.get("/stats")).json())


async def inbox(admin: httpx.AsyncClient, openid: str = FAN) -> list[dict[str, Any]]:
    return list((await admin.get(f"/inbox/{openid}")).json()["messages"])


async def send_price_alert(wechat: WeChatClient, **overrides: Any) -> int:
    values: dict[str, Any] = {"openid": FAN, "template_id": PRICE_ALERT, "data": PRICE_DATA}
    values.update(overrides)
    return await wechat.send_template(**values)


class TestCredentials:
    async def test_stable_token_is_fetched_once_and_shared_through_redis(
        self,
        wechat: WeChatClient,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        redis: Redis,
        clock: FakeClock,
    ) -> None:
        await wechat.list_templates()
        other = make_wechat_client(wechat_sim_server.url, redis, clock)
        try:
            await other.list_templates()
        finally:
            await other.aclose()
        body = await stats(wechat_sim_admin)
        assert body["token_issued"] == 1
        assert body["calls"]["/cgi-bin/stable_token"] == 1
        assert await wechat.access_token.peek() == await wechat.get_access_token()

    async def test_plain_token_mode_uses_cgi_bin_token(
        self,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        redis: Redis,
        clock: FakeClock,
    ) -> None:
        client = make_wechat_client(wechat_sim_server.url, redis, clock, use_stable_token=False)
        try:
            assert await client.list_templates()
        finally:
            await client.aclose()
        body = await stats(wechat_sim_admin)
        assert body["calls"]["/cgi-bin/token"] == 1
        assert "/cgi-bin/stable_token" not in body["calls"]

    async def test_wrong_secret_is_a_configuration_error_and_never_loops(
        self,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        redis: Redis,
        clock: FakeClock,
    ) -> None:
        client = make_wechat_client(
            wechat_sim_server.url, redis, clock, app_secret="wrong", use_stable_token=False
        )
        try:
            for _ in range(3):
                with pytest.raises(WeChatApiError) as caught:
                    await client.list_templates()
                assert caught.value.kind is ErrorKind.CONFIGURATION
        finally:
            await client.aclose()
        assert (await stats(wechat_sim_admin))["calls"]["/cgi-bin/token"] == 1

    async def test_token_endpoint_answering_40001_is_configuration_not_token(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fault(wechat_sim_admin, path="/cgi-bin/stable_token", errcode=40001)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.list_templates()
        assert caught.value.errcode == 40001
        assert caught.value.kind is ErrorKind.CONFIGURATION

    async def test_ip_not_allow_listed_is_configuration(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fault(wechat_sim_admin, path="/cgi-bin/stable_token", errcode=40164)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.get_tags()
        assert caught.value.kind is ErrorKind.CONFIGURATION


class TestTokenErrors:
    async def test_revoked_token_is_refreshed_once_and_the_call_retried(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        first = await wechat.get_access_token()
        (await wechat_sim_admin.post("/_admin/tokens/revoke")).raise_for_status()
        assert await send_price_alert(wechat) > 0
        assert await wechat.get_access_token() != first
        assert (await stats(wechat_sim_admin))["token_issued"] == 2

    async def test_expired_token_42001_recovers(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await wechat.get_tags()
        (await wechat_sim_admin.post("/_admin/tokens/expire")).raise_for_status()
        assert await wechat.get_tags() is not None
        assert (await stats(wechat_sim_admin))["errors"]["42001"] == 1

    async def test_a_second_token_error_is_raised_not_looped(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await wechat.get_tags()
        await add_fault(wechat_sim_admin, path="/cgi-bin/tags/get", errcode=40014)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.get_tags()
        assert caught.value.kind is ErrorKind.TOKEN
        assert (await stats(wechat_sim_admin))["calls"]["/cgi-bin/tags/get"] == 3


class TestTemplateMessages:
    async def test_send_returns_msgid_and_the_fan_sees_the_card(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        msgid = await send_price_alert(
            wechat, url="https://example.com/a", client_msg_id="delivery-1"
        )
        [message] = await inbox(wechat_sim_admin)
        assert message["msgid"] == msgid
        assert message["payload"]["data"]["thing1"] == "贵州茅台"
        assert message["payload"]["url"] == "https://example.com/a"

    async def test_repeated_client_msg_id_is_dropped_by_wechat(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        first = await send_price_alert(wechat, client_msg_id="delivery-7")
        second = await send_price_alert(wechat, client_msg_id="delivery-7")
        assert first == second
        body = await stats(wechat_sim_admin)
        assert body["template_accepted"] == 1
        assert body["template_duplicates"] == 1

    async def test_miniprogram_link_is_passed_through(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        mini = {"appid": "wxmini0001", "pagepath": "pages/quote?code=600519"}
        await send_price_alert(wechat, miniprogram=mini)
        [message] = await inbox(wechat_sim_admin)
        assert message["payload"]["miniprogram"] == mini

    async def test_list_templates(self, wechat: WeChatClient) -> None:
        templates = await wechat.list_templates()
        assert PRICE_ALERT in {t["template_id"] for t in templates}

    async def test_unfollowed_fan_is_permanent(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin, subscribed=False)
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat)
        assert (caught.value.errcode, caught.value.kind) == (43004, ErrorKind.PERMANENT)

    async def test_unknown_openid_is_permanent(self, wechat: WeChatClient) -> None:
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat, openid="oNotOurFan")
        assert (caught.value.errcode, caught.value.kind) == (40003, ErrorKind.PERMANENT)

    async def test_unknown_template_is_configuration(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat, template_id="no-such-template")
        assert (caught.value.errcode, caught.value.kind) == (40037, ErrorKind.CONFIGURATION)

    async def test_daily_quota_is_quota(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        quota = {"api": "template_send", "daily_limit": 1, "used": 1}
        (await wechat_sim_admin.post("/_admin/quota", json=quota)).raise_for_status()
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat)
        assert (caught.value.errcode, caught.value.kind) == (45009, ErrorKind.QUOTA)

    async def test_per_second_limit_is_rate(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        rate = {"template_per_second": 1}
        (await wechat_sim_admin.post("/_admin/rate", json=rate)).raise_for_status()
        await send_price_alert(wechat)
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat)
        assert (caught.value.errcode, caught.value.kind) == (45011, ErrorKind.RATE)


class TestApiQuota:
    async def test_reports_the_simulators_live_counter(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        quota = {"api": "template_send", "daily_limit": 500, "used": 40}
        (await wechat_sim_admin.post("/_admin/quota", json=quota)).raise_for_status()
        await send_price_alert(wechat)
        assert await wechat.get_api_quota(SEND_PATH) == ApiQuota(
            daily_limit=500, used=41, remain=459
        )

    async def test_unknown_path_is_permanent(self, wechat: WeChatClient) -> None:
        with pytest.raises(WeChatApiError) as caught:
            await wechat.get_api_quota("/cgi-bin/no/such/api")
        assert (caught.value.errcode, caught.value.kind) == (76021, ErrorKind.PERMANENT)

    async def test_a_url_instead_of_a_path_is_refused_before_sending(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        for bad in ("https://api.weixin.qq.com/cgi-bin/token", "cgi-bin/token"):
            with pytest.raises(InvalidRequestError):
                await wechat.get_api_quota(bad)
        assert "/cgi-bin/openapi/quota/get" not in (await stats(wechat_sim_admin))["calls"]

    async def test_platform_failure_is_retryable(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fault(wechat_sim_admin, path="/cgi-bin/openapi/quota/get", errcode=-1)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.get_api_quota(SEND_PATH)
        assert caught.value.kind is ErrorKind.RETRYABLE


class TestTransportAndRetryableErrors:
    async def test_system_busy_is_retryable(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        await add_fault(wechat_sim_admin, path=SEND_PATH, errcode=-1, count=1)
        with pytest.raises(WeChatApiError) as caught:
            await send_price_alert(wechat)
        assert caught.value.kind is ErrorKind.RETRYABLE
        assert await send_price_alert(wechat) > 0  # the fault was one-shot

    async def test_http_5xx_is_a_retryable_transport_error(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        await add_fault(wechat_sim_admin, path=SEND_PATH, http_status=502)
        with pytest.raises(WeChatTransportError) as caught:
            await send_price_alert(wechat)
        assert caught.value.status == 502
        assert caught.value.retryable

    async def test_http_5xx_on_the_httpx_path_too(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fault(wechat_sim_admin, path="/cgi-bin/menu/get", http_status=503)
        with pytest.raises(WeChatTransportError):
            await wechat.get_menu()

    async def test_timeout_is_a_retryable_transport_error(
        self,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        redis: Redis,
        clock: FakeClock,
    ) -> None:
        await add_fan(wechat_sim_admin)
        client = make_wechat_client(wechat_sim_server.url, redis, clock, timeout_s=0.3)
        try:
            await client.get_access_token()
            await add_fault(wechat_sim_admin, path=SEND_PATH, timeout=True)
            with pytest.raises(WeChatTransportError) as send_error:
                await send_price_alert(client)
            await add_fault(wechat_sim_admin, path="/cgi-bin/tags/get", timeout=True)
            with pytest.raises(WeChatTransportError) as tags_error:
                await client.get_tags()
        finally:
            await wechat_sim_admin.delete("/_admin/faults")  # releases the hanging calls
            await client.aclose()
        assert "timeout" in send_error.value.reason
        assert tags_error.value.kind is ErrorKind.RETRYABLE

    async def test_unknown_errcode_is_unknown_and_logged_loudly(
        self,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        await add_fault(wechat_sim_admin, path="/cgi-bin/tags/get", errcode=61999)
        with (
            caplog.at_level(logging.WARNING, logger="app.wechat"),
            pytest.raises(WeChatApiError) as caught,
        ):
            await wechat.get_tags()
        assert caught.value.kind is ErrorKind.UNKNOWN
        assert caught.value.retryable
        loud = [r for r in caplog.records if r.getMessage() == "wechat.api.unknown_errcode"]
        assert loud[0].levelno == logging.ERROR
        assert loud[0].__dict__["errcode"] == 61999

    async def test_no_log_record_carries_the_access_token(
        self,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        with caplog.at_level(logging.DEBUG):
            await wechat.get_tags()
            (await wechat_sim_admin.post("/_admin/tokens/revoke")).raise_for_status()
            await add_fault(wechat_sim_admin, path="/cgi-bin/menu/get", http_status=500)
            await wechat.get_tags()
            with pytest.raises(WeChatTransportError):
                await wechat.get_menu()
        token = await wechat.get_access_token()
        for record in caplog.records:
            assert token not in record.getMessage()
            assert token not in str(record.__dict__)


class TestCustomerServiceMessages:
    async def test_text_with_chinese_arrives_unescaped(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        await wechat.send_text(openid=FAN, content="您的委托已成交 ✅")
        [message] = await inbox(wechat_sim_admin)
        assert message["payload"]["text"]["content"] == "您的委托已成交 ✅"

    async def test_news_card(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        article = {
            "title": "开户指引",
            "description": "三分钟完成",
            "url": "https://example.com/open",
            "picurl": "https://example.com/p.png",
        }
        await wechat.send_news(openid=FAN, articles=[article])
        [message] = await inbox(wechat_sim_admin)
        assert message["payload"]["news"]["articles"] == [article]

    async def test_miniprogram_page(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        await wechat.send_miniprogram_page(
            openid=FAN, title="行情", appid="wxmini0001", pagepath="pages/q", thumb_media_id="M1"
        )
        [message] = await inbox(wechat_sim_admin)
        assert message["payload"]["miniprogrampage"]["pagepath"] == "pages/q"

    async def test_outside_the_window_is_permanent(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin, subscribed=False)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.send_text(openid=FAN, content="你好")
        assert (caught.value.errcode, caught.value.kind) == (45015, ErrorKind.PERMANENT)

    async def test_two_news_articles_are_refused(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        article = {"title": "t", "url": "https://example.com"}
        with pytest.raises(WeChatApiError) as caught:
            await wechat.send_custom_message(openid=FAN, message=news_message([article, article]))
        assert caught.value.kind is ErrorKind.PERMANENT


MENU = {
    "button": [
        {"type": "click", "name": "账户查询", "key": "ACCOUNT"},
        {"type": "view", "name": "开户", "url": "https://example.com/open"},
    ]
}


class TestMenus:
    async def test_create_get_and_delete(self, wechat: WeChatClient) -> None:
        await wechat.create_menu(MENU)
        menu = await wechat.get_menu()
        assert [b["name"] for b in menu["menu"]["button"]] == ["账户查询", "开户"]
        current = await wechat.get_current_menu_info()
        assert current["is_menu_open"] == 1
        await wechat.delete_menu()
        with pytest.raises(WeChatApiError) as caught:
            await wechat.get_menu()
        assert caught.value.kind is ErrorKind.PERMANENT

    async def test_conditional_menu_by_tag(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        await wechat.create_menu(MENU)
        tag = await wechat.create_tag("VIP客户")
        await wechat.tag_users(tag["id"], [FAN])
        vip = {
            "button": [{"type": "click", "name": "专属服务", "key": "VIP"}],
            "matchrule": {"tag_id": str(tag["id"])},
        }
        menuid = await wechat.add_conditional_menu(vip)
        matched = await wechat.try_match_menu(FAN)
        assert matched["button"][0]["key"] == "VIP"
        await wechat.delete_conditional_menu(menuid)
        assert (await wechat.try_match_menu(FAN))["button"][0]["key"] == "ACCOUNT"


class TestUsersAndTags:
    async def test_user_info(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        await add_fan(wechat_sim_admin)
        info = await wechat.get_user_info(FAN)
        assert info["openid"] == FAN
        assert info["subscribe"] == 1

    async def test_batch_user_info_splits_into_calls_of_100(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        openids = [f"oBatch{i:022d}" for i in range(230)]
        for openid in openids:
            await add_fan(wechat_sim_admin, openid)
        users = await wechat.batch_get_user_info(openids)
        assert [u["openid"] for u in users] == openids
        assert (await stats(wechat_sim_admin))["calls"]["/cgi-bin/user/info/batchget"] == 3

    async def test_tags_create_list_tag_and_untag(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        openids = [f"oTag{i:024d}" for i in range(60)]
        for openid in openids:
            await add_fan(wechat_sim_admin, openid)
        tag = await wechat.create_tag("高净值")
        await wechat.tag_users(tag["id"], openids)
        counts = {t["name"]: t["count"] for t in await wechat.get_tags()}
        assert counts["高净值"] == 60
        assert tag["id"] in (await wechat.get_user_info(openids[0]))["tagid_list"]
        await wechat.untag_users(tag["id"], openids[:55])
        counts = {t["name"]: t["count"] for t in await wechat.get_tags()}
        assert counts["高净值"] == 5
        calls = (await stats(wechat_sim_admin))["calls"]
        assert calls["/cgi-bin/tags/members/batchtagging"] == 2  # 50 per call
        assert calls["/cgi-bin/tags/members/batchuntagging"] == 2

    async def test_invalid_tag_is_permanent(self, wechat: WeChatClient) -> None:
        with pytest.raises(WeChatApiError) as caught:
            await wechat.tag_users(987654, [FAN])
        assert caught.value.kind is ErrorKind.PERMANENT


class TestQrCodes:
    async def test_temporary_qrcode(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        code = await wechat.create_qrcode(scene_str="channel:douyin", expire_seconds=3600)
        assert code["expire_seconds"] == 3600
        described = (await wechat_sim_admin.get(f"/_admin/qrcodes/{code['ticket']}")).json()
        assert "channel:douyin" in str(described)

    async def test_permanent_qrcode(self, wechat: WeChatClient) -> None:
        code = await wechat.create_qrcode(scene_str="branch:sh-001", expire_seconds=None)
        assert code["ticket"]
        assert "expire_seconds" not in code or not code["expire_seconds"]
        image = WeChatClient.qrcode_image_url(code["ticket"])
        assert image.startswith("https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=")

    @pytest.mark.parametrize(
        ("scene_str", "expire"), [("", 60), ("x" * 65, 60), ("ok", 0), ("ok", 2_592_001)]
    )
    async def test_invalid_requests_are_refused_before_sending(
        self,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        scene_str: str,
        expire: int,
    ) -> None:
        with pytest.raises(InvalidRequestError):
            await wechat.create_qrcode(scene_str=scene_str, expire_seconds=expire)
        assert "/cgi-bin/qrcode/create" not in (await stats(wechat_sim_admin))["calls"]


class TestOAuth:
    async def _code(
        self, wechat: WeChatClient, admin: httpx.AsyncClient, scope: str = "snsapi_userinfo"
    ) -> str:
        url = wechat.oauth_authorize_url(
            redirect_uri="https://broker.example.com/h5/bind", state="csrf123", scope=scope
        )
        path = urlsplit(url)
        assert path.fragment == "wechat_redirect"
        response = await admin.get(f"{path.path}?{path.query}&openid={FAN}")
        assert response.status_code == 302
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert query["state"] == ["csrf123"]
        return query["code"][0]

    async def test_code_exchange_refresh_and_user_info(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        code = await self._code(wechat, wechat_sim_admin)
        grant = await wechat.oauth_exchange_code(code)
        assert grant["openid"] == FAN
        refreshed = await wechat.oauth_refresh(grant["refresh_token"])
        profile = await wechat.oauth_user_info(refreshed["access_token"], FAN)
        assert profile["openid"] == FAN

    async def test_reused_code_is_permanent_and_does_not_touch_our_token(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        code = await self._code(wechat, wechat_sim_admin)
        await wechat.oauth_exchange_code(code)
        with pytest.raises(WeChatApiError) as caught:
            await wechat.oauth_exchange_code(code)
        assert caught.value.kind is ErrorKind.PERMANENT
        assert (await stats(wechat_sim_admin))["token_issued"] == 0

    async def test_bad_user_token_is_permanent_not_a_global_token_error(
        self, wechat: WeChatClient
    ) -> None:
        with pytest.raises(WeChatApiError) as caught:
            await wechat.oauth_user_info("not-a-user-token", FAN)
        assert caught.value.kind is ErrorKind.PERMANENT


class TestJsSdk:
    async def test_signature_matches_the_documented_algorithm(
        self, wechat: WeChatClient, wechat_sim_admin: httpx.AsyncClient
    ) -> None:
        signed = await wechat.jsapi_signature(
            "https://broker.example.com/h5/page?a=1#section",
            nonce_str="Wm3WZYTPz0wzccnW",
            timestamp=1414587457,
        )
        ticket = await wechat.get_jsapi_ticket()
        raw = (
            f"jsapi_ticket={ticket}&noncestr=Wm3WZYTPz0wzccnW&timestamp=1414587457"
            "&url=https://broker.example.com/h5/page?a=1"
        )
        assert signed["signature"] == hashlib.sha1(raw.encode()).hexdigest()
        assert signed["appId"] == TEST_APP_ID
        assert signed["url"] == "https://broker.example.com/h5/page?a=1"

    async def test_ticket_is_shared_between_processes(
        self,
        wechat: WeChatClient,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        redis: Redis,
        clock: FakeClock,
    ) -> None:
        other = make_wechat_client(wechat_sim_server.url, redis, clock)
        try:
            assert await wechat.get_jsapi_ticket() == await other.get_jsapi_ticket()
        finally:
            await other.aclose()
        assert (await stats(wechat_sim_admin))["ticket_issued"] == 1


class TestRedisDown:
    @pytest.fixture
    async def dead_redis(self) -> AsyncIterator[Redis]:
        client = create_redis("redis://127.0.0.1:1/0")
        yield client
        await client.aclose()

    async def test_calls_still_succeed_with_a_local_token(
        self,
        wechat_sim_server: LoopbackServer,
        wechat_sim_admin: httpx.AsyncClient,
        dead_redis: Redis,
        clock: FakeClock,
    ) -> None:
        await add_fan(wechat_sim_admin)
        client = make_wechat_client(wechat_sim_server.url, dead_redis, clock)
        try:
            for _ in range(3):
                assert await send_price_alert(client) > 0
            assert await client.get_tags() is not None
            assert client.access_token.using_local_fallback
        finally:
            await client.aclose()
        assert (await stats(wechat_sim_admin))["token_issued"] == 1


class TestWiring:
    def test_config_from_dev_settings_points_oauth_at_the_simulator(self) -> None:
        config = WeChatClientConfig.from_settings(make_settings())
        assert config.base_url == "http://testserver/_sim/wechat"
        assert config.oauth_base_url == config.base_url

    def test_config_outside_dev_uses_the_real_hosts(self) -> None:
        settings = make_settings(wechat_api_base_url="https://api.weixin.qq.com")
        config = WeChatClientConfig.from_settings(settings)
        assert config.oauth_base_url == "https://open.weixin.qq.com"

    async def test_lifespan_publishes_the_client(self, app: FastAPI) -> None:
        assert isinstance(app.state.wechat, WeChatClient)
