"""User, tag and QR-code endpoints of the simulator."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.core.time import FakeClock
from tests.simulator.conftest import OTHER_OPENID, call

QR = "/cgi-bin/qrcode/create"


class TestUsers:
    async def test_info_of_a_follower_and_a_non_follower(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post(
            "/_admin/fans", json={"openid": fan, "subscribed": True, "unionid": "u-1"}
        )
        await wechat_sim_client.post(
            "/_admin/fans", json={"openid": OTHER_OPENID, "subscribed": False}
        )
        info = await call(wechat_sim_client, "/cgi-bin/user/info", token, params={"openid": fan})
        assert (info["subscribe"], info["openid"], info["unionid"]) == (1, fan, "u-1")
        assert "nickname" not in info
        other = await call(
            wechat_sim_client, "/cgi-bin/user/info", token, params={"openid": OTHER_OPENID}
        )
        assert other == {"subscribe": 0, "openid": OTHER_OPENID}

    async def test_info_errors(self, wechat_sim_client: httpx.AsyncClient, token: str) -> None:
        path = "/cgi-bin/user/info"
        assert (await call(wechat_sim_client, path, token))["errcode"] == 41009
        unknown = await call(wechat_sim_client, path, token, params={"openid": "o-x"})
        assert unknown["errcode"] == 40003

    async def test_batchget(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post("/_admin/fans", json={"openid": OTHER_OPENID})
        path = "/cgi-bin/user/info/batchget"
        body = {"user_list": [{"openid": fan, "lang": "zh_CN"}, {"openid": OTHER_OPENID}]}
        result = await call(wechat_sim_client, path, token, json=body)
        assert [u["openid"] for u in result["user_info_list"]] == [fan, OTHER_OPENID]
        too_many = {"user_list": [{"openid": fan}] * 101}
        assert (await call(wechat_sim_client, path, token, json=too_many))["errcode"] == 40032
        unknown = {"user_list": [{"openid": "o-x"}]}
        assert (await call(wechat_sim_client, path, token, json=unknown))["errcode"] == 40003

    async def test_follower_list_has_only_followers(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post(
            "/_admin/fans", json={"openid": OTHER_OPENID, "subscribed": False}
        )
        body = await call(wechat_sim_client, "/cgi-bin/user/get", token)
        assert (body["total"], body["data"]["openid"], body["next_openid"]) == (1, [fan], fan)


class TestTags:
    async def test_tag_lifecycle(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        created = await call(
            wechat_sim_client, "/cgi-bin/tags/create", token, json={"tag": {"name": "高净值"}}
        )
        tag_id = created["tag"]["id"]
        assert tag_id >= 100
        members = {"openid_list": [fan], "tagid": tag_id}
        tagging = await call(
            wechat_sim_client, "/cgi-bin/tags/members/batchtagging", token, json=members
        )
        assert tagging["errcode"] == 0
        ids = await call(wechat_sim_client, "/cgi-bin/tags/getidlist", token, json={"openid": fan})
        assert ids["tagid_list"] == [tag_id]
        tags = await call(wechat_sim_client, "/cgi-bin/tags/get", token)
        assert tags["tags"] == [{"id": tag_id, "name": "高净值", "count": 1}]
        fans = await call(wechat_sim_client, "/cgi-bin/user/tag/get", token, json={"tagid": tag_id})
        assert fans["data"]["openid"] == [fan]
        await call(wechat_sim_client, "/cgi-bin/tags/members/batchuntagging", token, json=members)
        ids = await call(wechat_sim_client, "/cgi-bin/tags/getidlist", token, json={"openid": fan})
        assert ids["tagid_list"] == []
        renamed = {"tag": {"id": tag_id, "name": "VIP"}}
        assert (await call(wechat_sim_client, "/cgi-bin/tags/update", token, json=renamed))[
            "errcode"
        ] == 0
        deleted = {"tag": {"id": tag_id}}
        assert (await call(wechat_sim_client, "/cgi-bin/tags/delete", token, json=deleted))[
            "errcode"
        ] == 0
        assert (await call(wechat_sim_client, "/cgi-bin/tags/get", token))["tags"] == []

    @pytest.mark.parametrize(
        ("path", "body", "errcode"),
        [
            ("/cgi-bin/tags/create", {"tag": {"name": ""}}, 45157),
            ("/cgi-bin/tags/create", {"tag": {"name": "长" * 11}}, 45158),
            ("/cgi-bin/tags/members/batchtagging", {"openid_list": ["o"], "tagid": 999}, 45159),
            ("/cgi-bin/tags/delete", {"tag": {"id": 999}}, 45159),
            ("/cgi-bin/tags/getidlist", {"openid": "o-unknown"}, 40003),
        ],
    )
    async def test_errors(
        self, wechat_sim_client: httpx.AsyncClient, token: str, path: str, body: Any, errcode: int
    ) -> None:
        assert (await call(wechat_sim_client, path, token, json=body))["errcode"] == errcode

    async def test_duplicate_name_and_batch_size(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        tag = await call(
            wechat_sim_client, "/cgi-bin/tags/create", token, json={"tag": {"name": "a"}}
        )
        again = await call(
            wechat_sim_client, "/cgi-bin/tags/create", token, json={"tag": {"name": "a"}}
        )
        assert again["errcode"] == 45157
        members = {"openid_list": [fan] * 51, "tagid": tag["tag"]["id"]}
        path = "/cgi-bin/tags/members/batchtagging"
        assert (await call(wechat_sim_client, path, token, json=members))["errcode"] == 40032


class TestQrCodes:
    @pytest.mark.parametrize(
        ("action_name", "scene", "permanent"),
        [
            ("QR_SCENE", {"scene_id": 123}, False),
            ("QR_STR_SCENE", {"scene_str": "channel_A"}, False),
            ("QR_LIMIT_SCENE", {"scene_id": 100000}, True),
            ("QR_LIMIT_STR_SCENE", {"scene_str": "branch-sh"}, True),
        ],
    )
    async def test_four_kinds_and_the_ticket_map(
        self,
        wechat_sim_client: httpx.AsyncClient,
        token: str,
        action_name: str,
        scene: dict[str, Any],
        permanent: bool,
    ) -> None:
        body = {"expire_seconds": 600, "action_name": action_name, "action_info": {"scene": scene}}
        created = await call(wechat_sim_client, QR, token, json=body)
        assert created["url"].startswith("http://weixin.qq.com/q/")
        assert ("expire_seconds" not in created) is permanent
        scanned = (await wechat_sim_client.get(f"/_admin/qrcodes/{created['ticket']}")).json()
        assert scanned["scene"] == str(next(iter(scene.values())))
        assert scanned["permanent"] is permanent
        assert scanned["expired"] is False

    async def test_temporary_defaults_clamps_and_expires(
        self, wechat_sim_client: httpx.AsyncClient, token: str, clock: FakeClock
    ) -> None:
        scene = {"scene": {"scene_id": 7}}
        short = await call(
            wechat_sim_client, QR, token, json={"action_name": "QR_SCENE", "action_info": scene}
        )
        assert short["expire_seconds"] == 30
        body = {"action_name": "QR_SCENE", "action_info": scene, "expire_seconds": 10**9}
        assert (await call(wechat_sim_client, QR, token, json=body))["expire_seconds"] == 2_592_000
        clock.advance(30)
        scanned = (await wechat_sim_client.get(f"/_admin/qrcodes/{short['ticket']}")).json()
        assert scanned["expired"] is True
        assert (await wechat_sim_client.get("/_admin/qrcodes/unknown")).status_code == 404

    @pytest.mark.parametrize(
        "body",
        [
            {"action_name": "QR_MAGIC", "action_info": {"scene": {"scene_id": 1}}},
            {"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100001}}},
            {"action_name": "QR_SCENE", "action_info": {"scene": {"scene_id": 0}}},
            {"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}},
            {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": ""}}},
            {"action_name": "QR_SCENE", "action_info": {}},
            {
                "action_name": "QR_SCENE",
                "action_info": {"scene": {"scene_id": 1}},
                "expire_seconds": -5,
            },
        ],
    )
    async def test_invalid_requests(
        self, wechat_sim_client: httpx.AsyncClient, token: str, body: dict[str, Any]
    ) -> None:
        assert (await call(wechat_sim_client, QR, token, json=body))["errcode"] == 40053
