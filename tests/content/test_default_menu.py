"""The dev default menu: valid for WeChat, published once, and only ever to our own simulator."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from app.content.default_menu import (
    MenuKey,
    default_menu,
    publish_at_startup,
    publish_if_missing,
    publishes_at_startup,
)
from app.core.redis import Redis
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatApiError
from tests.conftest import make_settings, make_wechat_client

BASE = "http://127.0.0.1:8000"


def leaves(menu: dict[str, Any]) -> list[dict[str, str]]:
    return [sub for top in menu["button"] for sub in top.get("sub_button", [top])]


class TestDefaultMenu:
    def test_three_top_buttons_in_order(self) -> None:
        menu = default_menu(BASE)
        assert [b["name"] for b in menu["button"]] == ["账户", "提醒", "开户/下载"]

    def test_account_button_has_the_account_center_keys_and_binding(self) -> None:
        account = default_menu(BASE)["button"][0]["sub_button"]
        keys = [b.get("key") for b in account if b["type"] == "click"]
        assert keys[:3] == [MenuKey.ACCOUNT_OVERVIEW, MenuKey.POSITIONS, MenuKey.ORDERS]
        assert {"type": "view", "name": "绑定账户", "url": BASE + "/h5/bind"} in account

    def test_links_to_the_demo_campaign_page(self) -> None:
        links = default_menu(BASE)["button"][2]["sub_button"]
        assert {"type": "view", "name": "抽奖活动", "url": BASE + "/h5/campaigns/demo"} in links

    def test_every_click_key_is_a_known_menu_key(self) -> None:
        clicks = [b["key"] for b in leaves(default_menu(BASE)) if b["type"] == "click"]
        assert clicks
        assert set(clicks) <= {k.value for k in MenuKey}
        assert len(clicks) == len(set(clicks))


class TestPublishesAtStartup:
    def test_dev_with_the_mounted_simulator(self) -> None:
        assert publishes_at_startup(make_settings(public_base_url=BASE, mount_simulator=True))

    @pytest.mark.parametrize(
        "overrides",
        [
            {"mount_simulator": False},
            {"wechat_api_base_url": "https://api.weixin.qq.com"},
            {"wechat_api_base_url": "http://127.0.0.1:8900/_sim/wechat"},
        ],
    )
    def test_never_anywhere_else(self, overrides: dict[str, object]) -> None:
        settings = make_settings(public_base_url=BASE, **overrides)
        assert not publishes_at_startup(settings)

    def test_never_outside_dev(self) -> None:
        settings = make_settings(public_base_url=BASE).model_copy(
            update={"environment": "production"}
        )
        assert not publishes_at_startup(settings)


class TestPublish:
    async def test_creates_the_menu_when_there_is_none_then_keeps_it(
        self, wechat: WeChatClient
    ) -> None:
        with pytest.raises(WeChatApiError):
            await wechat.get_menu()
        assert await publish_if_missing(wechat, base_url=BASE) is True
        shown = (await wechat.get_menu())["menu"]["button"]
        assert [b["name"] for b in shown] == ["账户", "提醒", "开户/下载"]
        assert await publish_if_missing(wechat, base_url=BASE) is False

    async def test_an_existing_menu_is_left_alone(self, wechat: WeChatClient) -> None:
        ops_menu = {"button": [{"type": "click", "name": "运营", "key": "OPS"}]}
        await wechat.create_menu(ops_menu)
        await publish_at_startup(asyncio.Event(), wechat=wechat, base_url=BASE)
        assert (await wechat.get_menu())["menu"]["button"] == ops_menu["button"]

    async def test_start_up_hook_stops_quietly_when_nobody_answers(
        self, redis: Redis, caplog: pytest.LogCaptureFixture
    ) -> None:
        unreachable = make_wechat_client("http://127.0.0.1:9/_sim/wechat", redis, timeout_s=1.0)
        stop = asyncio.Event()
        stop.set()  # shutting down: one attempt, no waiting
        caplog.set_level(logging.INFO, logger="app.content.default_menu")
        try:
            await publish_at_startup(stop, wechat=unreachable, base_url=BASE)
        finally:
            await unreachable.aclose()
        events = [r.getMessage() for r in caplog.records if r.name == "app.content.default_menu"]
        assert events == ["content.default_menu.retry"]
