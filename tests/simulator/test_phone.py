"""The phone emulator's JSON endpoints on the real app: signed callbacks to /wechat and back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.core.redis import Redis
from app.core.resources import Resources
from app.core.time import FakeClock
from app.fans import service as fans_service
from app.main import create_app
from app.simulator.phone import get_bridge, get_phone_http
from app.simulator.phone_bridge import PhoneBridge, PhoneConfig
from app.simulator.state import WeChatSimulator
from app.webhook.service import WebhookContext
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply, TextReply
from tests.simulator.conftest import TRADE_FILL, call, fetch_token, trade_fill_data

PING_KEY = "PHONE_TEST_PING"
FAN = "oPhoneTestFan0123456789abcde"
OTHER_FAN = "oPhoneTestFan0123456789zzzzz"


@pytest.fixture
async def phone_app(
    settings: Settings, engine: AsyncEngine, redis: Redis, truncate_tables: None, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    """The real app (simulator mounted) on the shared FakeClock, so events never collide."""
    async with httpx.AsyncClient() as http:
        resources = Resources(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=redis,
            http=http,
            clock=clock,
            owned=False,
        )
        application = create_app(settings, resources)
        seen: list[InboundMessage] = []
        application.state.phone_test_seen = seen

        async def ping(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
            seen.append(msg)
            return TextReply(f"pong {msg.openid}")

        application.state.wechat_router.event("click", key=PING_KEY)(ping)
        async with application.router.lifespan_context(application):
            yield application


@pytest.fixture
async def asgi(phone_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """One in-process client for the page, `/wechat` and the simulator (the phone's HTTP too)."""
    transport = httpx.ASGITransport(app=phone_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        phone_app.dependency_overrides[get_phone_http] = lambda: client
        yield client
    phone_app.dependency_overrides.clear()


@pytest.fixture
def sim(phone_app: FastAPI) -> WeChatSimulator:
    simulator: WeChatSimulator = phone_app.state.wechat_simulator
    return simulator


@pytest.fixture
async def sim_api(phone_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The mounted simulator's WeChat API, as the product's client would call it."""
    transport = httpx.ASGITransport(app=phone_app)
    base = "http://testserver/_sim/wechat"
    async with httpx.AsyncClient(transport=transport, base_url=base) as client:
        yield client


async def act(asgi: httpx.AsyncClient, path: str, **body: Any) -> dict[str, Any]:
    response = await asgi.post(f"/_sim/phone/api/{path}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def fan_row(app: FastAPI, openid: str) -> Any:
    await app.state.webhook.recorder.flush()
    async with app.state.sessionmaker() as session:
        return await fans_service.get_fan(session, openid)


class TestPage:
    async def test_page_and_assets_are_served(self, asgi: httpx.AsyncClient) -> None:
        page = await asgi.get("/_sim/phone")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        assert "/_sim/phone/assets/phone.js" in page.text
        script = await asgi.get("/_sim/phone/assets/phone.js")
        assert script.status_code == 200
        assert "javascript" in script.headers["content-type"]

    @pytest.mark.parametrize("name", ["phone.html", "../phone.py", "x.css"])
    async def test_other_asset_names_are_404(self, asgi: httpx.AsyncClient, name: str) -> None:
        response = await asgi.get(f"/_sim/phone/assets/{name}")
        assert response.status_code == 404
        assert response.json()["error"] in {"not_found", "http_404"}

    async def test_config_names_no_secret(
        self, asgi: httpx.AsyncClient, settings: Settings
    ) -> None:
        body = (await asgi.get("/_sim/phone/api/config")).json()
        assert body["webhook_url"] == "http://testserver/wechat"
        text = str(body)
        assert settings.wechat_token.get_secret_value() not in text
        assert settings.wechat_encoding_aes_key.get_secret_value() not in text


class TestFans:
    async def test_new_fan_has_a_wechat_shaped_openid_and_does_not_follow(
        self, asgi: httpx.AsyncClient, sim: WeChatSimulator
    ) -> None:
        fan = (await asgi.post("/_sim/phone/api/fans", json={})).json()
        assert len(fan["openid"]) == 28
        assert fan["openid"].startswith("o")
        assert fan["subscribe"] == 0
        assert not sim.fans.fans[fan["openid"]].subscribed
        listed = (await asgi.get("/_sim/phone/api/fans")).json()["fans"]
        assert [f["openid"] for f in listed] == [fan["openid"]]

    async def test_creating_a_known_fan_keeps_their_follow(
        self, asgi: httpx.AsyncClient, sim: WeChatSimulator
    ) -> None:
        await act(asgi, "follow", openid=FAN, mode="plain")
        again = (await asgi.post("/_sim/phone/api/fans", json={"openid": FAN})).json()
        assert again["subscribe"] == 1
        assert sim.fans.fans[FAN].subscribed

    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("follow", {"openid": "not an openid!"}),
            ("follow", {"openid": FAN, "mode": "rot13"}),
            ("text", {"openid": FAN, "content": "   "}),
            ("text", {"openid": FAN, "content": "x" * 2001}),
            ("click", {"openid": FAN, "key": "K" * 129}),
            ("view", {"openid": FAN, "url": "javascript:alert(1)"}),
            ("fans", {"openid": "o" * 65}),
        ],
    )
    async def test_bad_input_is_a_422_problem(
        self, asgi: httpx.AsyncClient, path: str, body: dict[str, Any]
    ) -> None:
        response = await asgi.post(f"/_sim/phone/api/{path}", json=body)
        assert response.status_code == 422
        assert response.json()["error"] == "validation_error"

    async def test_bad_openid_in_the_path_is_a_400(self, asgi: httpx.AsyncClient) -> None:
        response = await asgi.get("/_sim/phone/api/inbox/bad%20id")
        assert response.status_code == 400


class TestFollow:
    @pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
    async def test_follow_subscribes_and_shows_the_welcome(
        self,
        asgi: httpx.AsyncClient,
        phone_app: FastAPI,
        sim: WeChatSimulator,
        settings: Settings,
        mode: str,
    ) -> None:
        result = await act(asgi, "follow", openid=FAN, mode=mode)
        assert result["delivered"] is True
        assert result["status"] == 200
        assert result["sent"] == "subscribe"
        assert result["mode"] == mode
        assert result["reply"] == {"type": "text", "content": settings.webhook_welcome_text}
        assert sim.fans.fans[FAN].subscribed
        row = await fan_row(phone_app, FAN)
        assert row is not None
        assert row.is_subscribed

    async def test_follow_through_a_typed_scene_records_it(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI, sim: WeChatSimulator
    ) -> None:
        result = await act(asgi, "follow", openid=FAN, scan="campaign42")
        assert result["sent"] == "subscribe"
        assert sim.fans.fans[FAN].qr_scene_str == "campaign42"
        row = await fan_row(phone_app, FAN)
        assert row.subscribe_scene == "campaign42"

    async def test_scanning_a_simulator_ticket_uses_its_scene(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI, sim: WeChatSimulator
    ) -> None:
        body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": "ch7"}}}
        code = sim.qrcodes.create(body, sim.now())
        await act(asgi, "follow", openid=FAN, scan=code.ticket)
        row = await fan_row(phone_app, FAN)
        assert row.subscribe_scene == "ch7"

    async def test_an_expired_ticket_is_refused(
        self, asgi: httpx.AsyncClient, sim: WeChatSimulator
    ) -> None:
        body = {
            "action_name": "QR_STR_SCENE",
            "expire_seconds": 60,
            "action_info": {"scene": {"scene_str": "old"}},
        }
        code = sim.qrcodes.create(body, sim.now() - 3600)
        response = await asgi.post(
            "/_sim/phone/api/follow", json={"openid": FAN, "scan": code.ticket}
        )
        assert response.status_code == 409
        assert response.json()["error"] == "phone.qrcode_expired"
        assert FAN not in sim.fans.fans

    async def test_a_follower_scanning_sends_scan(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI, clock: FakeClock
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        clock.advance(1)
        result = await act(asgi, "follow", openid=FAN, scan="booth3")
        assert result["sent"] == "SCAN"
        assert result["delivered"] is True

    async def test_following_twice_without_a_scan_is_a_conflict(
        self, asgi: httpx.AsyncClient
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        response = await asgi.post("/_sim/phone/api/follow", json={"openid": FAN})
        assert response.status_code == 409
        assert response.json()["error"] == "phone.already_following"

    async def test_unfollow_then_follow_again(
        self,
        asgi: httpx.AsyncClient,
        phone_app: FastAPI,
        sim: WeChatSimulator,
        clock: FakeClock,
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        clock.advance(5)
        result = await act(asgi, "unfollow", openid=FAN)
        assert result["sent"] == "unsubscribe"
        assert result["reply"] is None
        assert not sim.fans.fans[FAN].subscribed
        row = await fan_row(phone_app, FAN)
        assert not row.is_subscribed
        clock.advance(5)
        again = await act(asgi, "follow", openid=FAN)
        assert again["reply"]["type"] == "text"
        row = await fan_row(phone_app, FAN)
        assert row.is_subscribed
        assert row.subscribe_count == 2


class TestMessages:
    async def test_click_reaches_the_handler_and_shows_its_reply(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI, clock: FakeClock
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        clock.advance(1)
        result = await act(asgi, "click", openid=FAN, key=PING_KEY)
        assert result["sent"] == "CLICK"
        assert result["reply"] == {"type": "text", "content": f"pong {FAN}"}
        seen = phone_app.state.phone_test_seen
        assert [(m.openid, m.event_key) for m in seen] == [(FAN, PING_KEY)]

    async def test_a_fan_who_does_not_follow_cannot_click(self, asgi: httpx.AsyncClient) -> None:
        await asgi.post("/_sim/phone/api/fans", json={"openid": FAN})
        response = await asgi.post("/_sim/phone/api/click", json={"openid": FAN, "key": PING_KEY})
        assert response.status_code == 409
        assert response.json()["error"] == "phone.not_following"

    @pytest.mark.parametrize("mode", ["plain", "safe"])
    async def test_text_gets_the_default_reply(
        self, asgi: httpx.AsyncClient, settings: Settings, clock: FakeClock, mode: str
    ) -> None:
        await act(asgi, "follow", openid=FAN, mode=mode)
        clock.advance(1)
        result = await act(asgi, "text", openid=FAN, content="你好，请问怎么开户？", mode=mode)
        assert result["sent"] == "text"
        assert result["reply"] == {"type": "text", "content": settings.webhook_default_reply}

    async def test_view_is_reported_and_echoes_the_link(
        self, asgi: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        clock.advance(1)
        url = "http://testserver/h5/bind"
        result = await act(asgi, "view", openid=FAN, url=url)
        assert result["sent"] == "VIEW"
        assert result["delivered"] is True
        assert result["reply"] is None
        assert result["url"] == url

    async def test_a_rejected_callback_is_shown_as_out_of_service(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI, settings: Settings
    ) -> None:
        good = PhoneConfig.from_settings(settings)
        wrong = PhoneConfig(
            webhook_url=good.webhook_url,
            simulator_url=good.simulator_url,
            token="notTheAccountToken",
            encoding_aes_key=good.encoding_aes_key,
            app_id=good.app_id,
        )
        phone_app.dependency_overrides[get_bridge] = lambda: PhoneBridge(
            wrong, http=asgi, clock=phone_app.state.clock
        )
        await act(asgi, "follow", openid=FAN)  # the simulator side still works
        result = await act(asgi, "click", openid=FAN, key=PING_KEY)
        assert result["delivered"] is False
        assert result["status"] == 403
        assert "403" in result["problem"]
        assert phone_app.state.phone_test_seen == []


class TestSimulatorSide:
    async def test_no_menu_yet_is_reported(self, asgi: httpx.AsyncClient) -> None:
        await act(asgi, "follow", openid=FAN)
        menu = (await asgi.get("/_sim/phone/api/menu", params={"openid": FAN})).json()
        assert menu == {"button": [], "published": False}

    async def test_menu_follows_the_menu_api_and_conditional_tags(
        self, asgi: httpx.AsyncClient, sim_api: httpx.AsyncClient
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        await act(asgi, "follow", openid=OTHER_FAN)
        token = await fetch_token(sim_api)
        default = {"button": [{"type": "click", "name": "默认", "key": "DEFAULT_KEY"}]}
        assert (await call(sim_api, "/cgi-bin/menu/create", token, json=default))["errcode"] == 0
        tag = await call(sim_api, "/cgi-bin/tags/create", token, json={"tag": {"name": "vip"}})
        tag_id = tag["tag"]["id"]
        tagging = {"openid_list": [FAN], "tagid": tag_id}
        await call(sim_api, "/cgi-bin/tags/members/batchtagging", token, json=tagging)
        vip = {
            "button": [{"type": "click", "name": "贵宾", "key": "VIP_KEY"}],
            "matchrule": {"tag_id": str(tag_id)},
        }
        assert "menuid" in await call(sim_api, "/cgi-bin/menu/addconditional", token, json=vip)

        tagged = (await asgi.get("/_sim/phone/api/menu", params={"openid": FAN})).json()
        other = (await asgi.get("/_sim/phone/api/menu", params={"openid": OTHER_FAN})).json()
        assert tagged["published"] is True
        assert [b["key"] for b in tagged["button"]] == ["VIP_KEY"]
        assert [b["key"] for b in other["button"]] == ["DEFAULT_KEY"]

    async def test_template_and_cs_messages_appear_in_the_inbox(
        self, asgi: httpx.AsyncClient, sim_api: httpx.AsyncClient
    ) -> None:
        await act(asgi, "follow", openid=FAN)
        token = await fetch_token(sim_api)
        send = {
            "touser": FAN,
            "template_id": TRADE_FILL,
            "url": "http://testserver/h5/account/orders",
            "data": trade_fill_data(),
        }
        assert (await call(sim_api, "/cgi-bin/message/template/send", token, json=send))["msgid"]
        text = {"touser": FAN, "msgtype": "text", "text": {"content": "查询结果稍后送达"}}
        await call(sim_api, "/cgi-bin/message/custom/send", token, json=text)

        inbox = (await asgi.get(f"/_sim/phone/api/inbox/{FAN}")).json()["messages"]
        assert [m["kind"] for m in inbox] == ["template", "custom"]
        card = inbox[0]["payload"]
        assert card["title"] == "委托成交提醒"
        assert "证券名称：贵州茅台" in card["content"]
        assert card["url"] == send["url"]
        later = (
            await asgi.get(f"/_sim/phone/api/inbox/{FAN}", params={"after": inbox[0]["seq"]})
        ).json()["messages"]
        assert [m["payload"]["text"]["content"] for m in later] == ["查询结果稍后送达"]

    async def test_an_unreachable_simulator_is_a_502_problem(
        self, asgi: httpx.AsyncClient, phone_app: FastAPI
    ) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as down:
            phone_app.dependency_overrides[get_phone_http] = lambda: down
            response = await asgi.get("/_sim/phone/api/fans")
        assert response.status_code == 502
        assert response.json()["error"] == "phone.simulator_unavailable"
