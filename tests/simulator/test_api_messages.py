"""Template and customer-service message endpoints of the simulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.core.time import FakeClock
from tests.simulator.conftest import (
    OTHER_OPENID,
    SERVICE_NOTE,
    TRADE_FILL,
    call,
    trade_fill_data,
)

SEND = "/cgi-bin/message/template/send"
CUSTOM = "/cgi-bin/message/custom/send"


def template(openid: str, **extra: Any) -> dict[str, Any]:
    return {"touser": openid, "template_id": TRADE_FILL, "data": trade_fill_data(), **extra}


async def inbox(client: httpx.AsyncClient, openid: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = (await client.get(f"/inbox/{openid}")).json()["messages"]
    return messages


async def stats(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/stats")).json()
    return body


class TestTemplateSend:
    async def test_accepted_send_lands_in_the_inbox(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        body = await call(wechat_sim_client, SEND, token, json=template(fan, url="https://x.cn/a"))
        assert body["errcode"] == 0
        assert body["msgid"] > 0
        [entry] = await inbox(wechat_sim_client, fan)
        assert entry["kind"] == "template"
        assert entry["msgid"] == body["msgid"]
        assert entry["status"] == "success"
        assert entry["payload"]["title"] == "委托成交提醒"
        assert "成交方向：买入" in entry["payload"]["content"]
        assert entry["payload"]["url"] == "https://x.cn/a"
        assert (await stats(wechat_sim_client))["template_accepted"] == 1

    async def test_free_text_over_20_chars_is_truncated_with_ellipsis(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        long_name = "中" * 25
        data = trade_fill_data(thing1=long_name)
        await call(wechat_sim_client, SEND, token, json=template(fan, data=data))
        [entry] = await inbox(wechat_sim_client, fan)
        assert entry["payload"]["data"]["thing1"] == "中" * 20 + "…"

    async def test_first_and_remark_are_optional_and_not_shown(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        data = {
            "first": {"value": "您好"},
            "keyword1": {"value": "风险测评"},
            "keyword2": {"value": "已完成"},
        }
        body = {"touser": fan, "template_id": SERVICE_NOTE, "data": data}
        assert (await call(wechat_sim_client, SEND, token, json=body))["errcode"] == 0
        [entry] = await inbox(wechat_sim_client, fan)
        assert entry["payload"]["data"] == {"keyword1": "风险测评", "keyword2": "已完成"}
        assert "您好" not in entry["payload"]["content"]

    @pytest.mark.parametrize(
        ("change", "errcode", "field"),
        [
            ({"template_id": "nope"}, 40037, None),
            ({"touser": "o-unknown"}, 40003, None),
            ({"data": {**trade_fill_data(), "thing9": {"value": "x"}}}, 47003, "data.thing9"),
            ({"data": trade_fill_data(amount3="很多钱")}, 47003, "data.amount3"),
            ({"data": trade_fill_data(time5="yesterday")}, 47003, "data.time5"),
            ({"data": trade_fill_data(phrase2="")}, 47003, "data.phrase2"),
            ({"data": {**trade_fill_data(), "number4": {"value": 100}}}, 47003, "data.number4"),
            ({"client_msg_id": 7}, 47003, "client_msg_id"),
            ({"url": "javascript:alert(1)"}, 47003, "url"),
        ],
    )
    async def test_rejections_name_the_problem(
        self,
        wechat_sim_client: httpx.AsyncClient,
        token: str,
        fan: str,
        change: dict[str, Any],
        errcode: int,
        field: str | None,
    ) -> None:
        body = await call(wechat_sim_client, SEND, token, json={**template(fan), **change})
        assert body["errcode"] == errcode
        if field:
            assert field in body["errmsg"]
        assert await inbox(wechat_sim_client, fan) == []
        assert (await stats(wechat_sim_client))["template_rejected"] == 1

    async def test_unsubscribed_fan_gets_43004(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await wechat_sim_client.post(
            "/_admin/fans", json={"openid": OTHER_OPENID, "subscribed": False}
        )
        body = await call(wechat_sim_client, SEND, token, json=template(OTHER_OPENID))
        assert body["errcode"] == 43004

    async def test_auto_fans_accepts_unknown_openids(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await wechat_sim_client.post("/_admin/settings", json={"auto_fans": True})
        body = await call(wechat_sim_client, SEND, token, json=template("o-brand-new"))
        assert body["errcode"] == 0

    async def test_malformed_bodies(self, wechat_sim_client: httpx.AsyncClient, token: str) -> None:
        params = {"access_token": token}
        empty = await wechat_sim_client.post(SEND, params=params, content=b"")
        broken = await wechat_sim_client.post(SEND, params=params, content=b"{")
        array = await wechat_sim_client.post(SEND, params=params, json=[1])
        assert [r.json()["errcode"] for r in (empty, broken, array)] == [44002, 47001, 47001]

    async def test_daily_quota_gives_45009(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post(
            "/_admin/quota", json={"api": "template_send", "daily_limit": 1}
        )
        assert (await call(wechat_sim_client, SEND, token, json=template(fan)))["errcode"] == 0
        assert (await call(wechat_sim_client, SEND, token, json=template(fan)))["errcode"] == 45009

    async def test_per_second_rate_gives_45011(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str, clock: FakeClock
    ) -> None:
        await wechat_sim_client.post("/_admin/rate", json={"template_per_second": 2})
        codes = [
            (await call(wechat_sim_client, SEND, token, json=template(fan)))["errcode"]
            for _ in range(3)
        ]
        assert codes == [0, 0, 45011]
        clock.advance(1)
        assert (await call(wechat_sim_client, SEND, token, json=template(fan)))["errcode"] == 0


class TestClientMsgIdDedupe:
    async def test_duplicate_returns_first_msgid_and_is_not_delivered(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        first = await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="d-1"))
        again = await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="d-1"))
        assert again == first
        assert len(await inbox(wechat_sim_client, fan)) == 1
        counts = await stats(wechat_sim_client)
        assert counts["template_accepted"] == 1
        assert counts["template_duplicates"] == 1
        assert counts["template_unique_client_msg_ids"] == 1

    async def test_window_is_ten_minutes(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str, clock: FakeClock
    ) -> None:
        first = await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="d-2"))
        clock.advance(599)
        await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="d-2"))
        clock.advance(2)
        late = await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="d-2"))
        assert late["msgid"] != first["msgid"]
        counts = await stats(wechat_sim_client)
        assert (counts["template_accepted"], counts["template_duplicates"]) == (2, 1)
        assert counts["template_unique_client_msg_ids"] == 1

    async def test_dedupe_is_per_openid(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post("/_admin/fans", json={"openid": OTHER_OPENID})
        a = await call(wechat_sim_client, SEND, token, json=template(fan, client_msg_id="same"))
        b = await call(
            wechat_sim_client, SEND, token, json=template(OTHER_OPENID, client_msg_id="same")
        )
        assert a["msgid"] != b["msgid"]
        assert len(await inbox(wechat_sim_client, OTHER_OPENID)) == 1


class TestTemplateAdmin:
    async def test_list_contains_seeded_templates(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        body = await call(wechat_sim_client, "/cgi-bin/template/get_all_private_template", token)
        ids = {t["template_id"] for t in body["template_list"]}
        assert {TRADE_FILL, SERVICE_NOTE} <= ids
        assert all("{{" in t["content"] for t in body["template_list"])

    async def test_added_template_is_usable_and_deletable(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        added = {"template_id": "tpl-x", "title": "测试", "content": "内容：{{thing1.DATA}}"}
        assert (await wechat_sim_client.post("/_admin/templates", json=added)).status_code == 200
        body = {"touser": fan, "template_id": "tpl-x", "data": {"thing1": {"value": "好"}}}
        assert (await call(wechat_sim_client, SEND, token, json=body))["errcode"] == 0
        delete = {"template_id": "tpl-x"}
        path = "/cgi-bin/template/del_private_template"
        assert (await call(wechat_sim_client, path, token, json=delete))["errcode"] == 0
        assert (await call(wechat_sim_client, path, token, json=delete))["errcode"] == 40037
        assert (await call(wechat_sim_client, SEND, token, json=body))["errcode"] == 40037


class TestCustomSend:
    @pytest.mark.parametrize(
        "message",
        [
            {"msgtype": "text", "text": {"content": "您好"}},
            {
                "msgtype": "news",
                "news": {"articles": [{"title": "开户指南", "url": "https://x.cn"}]},
            },
            {
                "msgtype": "miniprogrampage",
                "miniprogrampage": {
                    "title": "行情",
                    "appid": "wxmini",
                    "pagepath": "pages/index",
                    "thumb_media_id": "m1",
                },
            },
        ],
    )
    async def test_delivered_to_inbox(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str, message: dict[str, Any]
    ) -> None:
        body = await call(wechat_sim_client, CUSTOM, token, json={"touser": fan, **message})
        assert body == {"errcode": 0, "errmsg": "ok"}
        [entry] = await inbox(wechat_sim_client, fan)
        assert entry["kind"] == "custom"
        assert entry["payload"] == message
        assert (await stats(wechat_sim_client))["custom_sent"] == 1

    @pytest.mark.parametrize(
        ("message", "errcode", "field"),
        [
            ({"msgtype": "text", "text": {"content": " "}}, 44004, None),
            ({"msgtype": "news", "news": {"articles": []}}, 44003, None),
            (
                {"msgtype": "news", "news": {"articles": [{"title": "a"}, {"title": "b"}]}},
                45008,
                None,
            ),
            (
                {
                    "msgtype": "miniprogrampage",
                    "miniprogrampage": {"title": "t", "appid": "a", "pagepath": "p"},
                },
                47003,
                "thumb_media_id",
            ),
            ({"msgtype": "hologram", "hologram": {}}, 40008, None),
            ({"msgtype": "image", "image": {}}, 40007, None),
        ],
    )
    async def test_invalid_messages(
        self,
        wechat_sim_client: httpx.AsyncClient,
        token: str,
        fan: str,
        message: dict[str, Any],
        errcode: int,
        field: str | None,
    ) -> None:
        body = await call(wechat_sim_client, CUSTOM, token, json={"touser": fan, **message})
        assert body["errcode"] == errcode
        if field:
            assert field in body["errmsg"]
        assert await inbox(wechat_sim_client, fan) == []

    async def test_unsubscribed_fan_gets_45015(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await wechat_sim_client.post(
            "/_admin/fans", json={"openid": OTHER_OPENID, "subscribed": False}
        )
        message = {"touser": OTHER_OPENID, "msgtype": "text", "text": {"content": "hi"}}
        assert (await call(wechat_sim_client, CUSTOM, token, json=message))["errcode"] == 45015
        message["touser"] = "o-unknown"
        assert (await call(wechat_sim_client, CUSTOM, token, json=message))["errcode"] == 40003
