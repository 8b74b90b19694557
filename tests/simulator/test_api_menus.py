"""Custom-menu endpoints of the simulator: limits, default + conditional menus, trymatch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.simulator.conftest import OTHER_OPENID, call

CREATE = "/cgi-bin/menu/create"
MENU = {
    "button": [
        {"type": "click", "name": "账户查询", "key": "ACCOUNT"},
        {
            "name": "服务",
            "sub_button": [
                {"type": "view", "name": "开户", "url": "https://example.com/open"},
                {"type": "click", "name": "订阅提醒", "key": "ALERTS"},
            ],
        },
    ]
}


def click(name: str = "按钮", key: str = "K") -> dict[str, str]:
    return {"type": "click", "name": name, "key": key}


class TestCreateAndGet:
    async def test_created_menu_is_returned(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        assert (await call(wechat_sim_client, "/cgi-bin/menu/get", token))["errcode"] == 46003
        assert (await call(wechat_sim_client, CREATE, token, json=MENU))["errcode"] == 0
        body = await call(wechat_sim_client, "/cgi-bin/menu/get", token)
        assert body["menu"]["button"] == MENU["button"]
        assert "conditionalmenu" not in body

    async def test_selfmenu_info_wraps_sub_buttons(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        path = "/cgi-bin/get_current_selfmenu_info"
        assert (await call(wechat_sim_client, path, token)) == {"is_menu_open": 0}
        await call(wechat_sim_client, CREATE, token, json=MENU)
        info = await call(wechat_sim_client, path, token)
        assert info["is_menu_open"] == 1
        service = info["selfmenu_info"]["button"][1]
        assert service["sub_button"]["list"][1]["key"] == "ALERTS"

    async def test_delete_removes_everything(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await call(wechat_sim_client, CREATE, token, json=MENU)
        assert (await call(wechat_sim_client, "/cgi-bin/menu/delete", token))["errcode"] == 0
        assert (await call(wechat_sim_client, "/cgi-bin/menu/get", token))["errcode"] == 46003

    @pytest.mark.parametrize(
        ("button", "errcode"),
        [
            ([], 40016),
            ([click(), click(), click(), click()], 40016),
            ([click(name="一二三四五六")], 40018),  # 18 bytes > 16
            ([{"type": "teleport", "name": "x", "key": "k"}], 40015),
            ([click(key="")], 40019),
            ([click(key="k" * 129)], 40019),
            ([{"type": "view", "name": "x", "url": "ftp://x"}], 40020),
            ([{"type": "view", "name": "x", "url": "https://x.cn/" + "a" * 1020}], 40020),
            ([{"name": "x", "sub_button": [click()] * 6}], 40017),
            ([{"name": "x", "sub_button": []}], 41007),
            ([{"name": "x", "sub_button": [click(name="长" * 21)]}], 40025),  # 63 bytes > 60
            ([{"name": "x", "sub_button": [{"type": "nope", "name": "y"}]}], 40024),
            ([{"name": "x", "sub_button": [click(key="k" * 129)]}], 40026),
            ([{"name": "x", "sub_button": [{"type": "view", "name": "y", "url": ""}]}], 40027),
            ([{"type": "media_id", "name": "x"}], 40007),
        ],
    )
    async def test_limits(
        self, wechat_sim_client: httpx.AsyncClient, token: str, button: list[Any], errcode: int
    ) -> None:
        body = await call(wechat_sim_client, CREATE, token, json={"button": button})
        assert body["errcode"] == errcode
        assert (await call(wechat_sim_client, "/cgi-bin/menu/get", token))["errcode"] == 46003


class TestConditionalMenus:
    async def tag_fan(self, client: httpx.AsyncClient, token: str, openid: str) -> int:
        tag = await call(client, "/cgi-bin/tags/create", token, json={"tag": {"name": "VIP"}})
        body = {"openid_list": [openid], "tagid": tag["tag"]["id"]}
        await call(client, "/cgi-bin/tags/members/batchtagging", token, json=body)
        tag_id: int = tag["tag"]["id"]
        return tag_id

    async def test_needs_a_default_menu(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        body = {"button": [click()], "matchrule": {"client_platform_type": "1"}}
        path = "/cgi-bin/menu/addconditional"
        assert (await call(wechat_sim_client, path, token, json=body))["errcode"] == 65303

    async def test_tagged_fan_sees_the_conditional_menu(
        self, wechat_sim_client: httpx.AsyncClient, token: str, fan: str
    ) -> None:
        await wechat_sim_client.post("/_admin/fans", json={"openid": OTHER_OPENID})
        tag_id = await self.tag_fan(wechat_sim_client, token, fan)
        await call(wechat_sim_client, CREATE, token, json=MENU)
        vip = {"button": [click("专属", "VIP")], "matchrule": {"tag_id": str(tag_id)}}
        added = await call(wechat_sim_client, "/cgi-bin/menu/addconditional", token, json=vip)
        assert added["menuid"]
        tried = await call(
            wechat_sim_client, "/cgi-bin/menu/trymatch", token, json={"user_id": fan}
        )
        assert tried["button"][0]["key"] == "VIP"
        other = await call(
            wechat_sim_client, "/cgi-bin/menu/trymatch", token, json={"user_id": OTHER_OPENID}
        )
        assert other["button"] == MENU["button"]
        listing = await call(wechat_sim_client, "/cgi-bin/menu/get", token)
        assert listing["conditionalmenu"][0]["menuid"] == int(added["menuid"])
        phone_view = (await wechat_sim_client.get("/_admin/menu", params={"openid": fan})).json()
        assert phone_view["button"][0]["key"] == "VIP"

    async def test_delete_conditional(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await call(wechat_sim_client, CREATE, token, json=MENU)
        rule = {"button": [click()], "matchrule": {"client_platform_type": "2"}}
        added = await call(wechat_sim_client, "/cgi-bin/menu/addconditional", token, json=rule)
        path = "/cgi-bin/menu/delconditional"
        body = {"menuid": added["menuid"]}
        assert (await call(wechat_sim_client, path, token, json=body))["errcode"] == 0
        assert (await call(wechat_sim_client, path, token, json=body))["errcode"] == 65301

    @pytest.mark.parametrize(
        ("matchrule", "errcode"),
        [({}, 65304), ({"sex": "1"}, 65320), ({"tag_id": "999"}, 45159), (None, 65304)],
    )
    async def test_bad_match_rules(
        self, wechat_sim_client: httpx.AsyncClient, token: str, matchrule: Any, errcode: int
    ) -> None:
        await call(wechat_sim_client, CREATE, token, json=MENU)
        body = {"button": [click()], "matchrule": matchrule}
        result = await call(wechat_sim_client, "/cgi-bin/menu/addconditional", token, json=body)
        assert result["errcode"] == errcode

    async def test_trymatch_unknown_user(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await call(wechat_sim_client, CREATE, token, json=MENU)
        body = await call(wechat_sim_client, "/cgi-bin/menu/trymatch", token, json={"user_id": "x"})
        assert body["errcode"] == 46004
