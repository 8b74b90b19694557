"""The phone page in real headless Chromium against the real app served over loopback HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from app.content.default_menu import publish_if_missing
from app.core.redis import Redis
from app.webhook.service import WebhookContext
from app.wechat.client import WeChatClient
from app.wechat.messages import InboundMessage
from app.wechat.replies import Reply, TextReply
from tests.conftest import make_wechat_client
from tests.live import LiveApp, chromium, live_app, screenshot  # noqa: F401 - fixtures
from tests.simulator.conftest import TRADE_FILL

pytestmark = pytest.mark.browser

PING_KEY = "PHONE_BROWSER_PING"
TAGGED_FAN = "oBrowserTaggedFan0123456789a"
PLAIN_FAN = "oBrowserPlainFan01234567890b"
WAIT_MS = 15_000


@pytest.fixture
async def wechat_live(live_app: LiveApp, redis: Redis) -> AsyncIterator[WeChatClient]:  # noqa: F811
    """The product client on the live app's simulator (the menu API, tags, template sends)."""
    client = make_wechat_client(live_app.url + "/_sim/wechat", redis)
    yield client
    await client.aclose()


@pytest.fixture
async def page(chromium: Browser) -> AsyncIterator[Page]:  # noqa: F811
    context = await chromium.new_context(viewport={"width": 900, "height": 860})
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    await context.close()


async def register_fan(live: LiveApp, openid: str) -> None:
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        response = await http.post("/_sim/phone/api/fans", json={"openid": openid})
        assert response.status_code == 200


async def open_phone(page: Page, live: LiveApp, openid: str) -> None:
    await page.goto(f"{live.url}/_sim/phone?openid={openid}")
    await expect(page.locator("body")).to_have_attribute("data-ready", "true")
    await expect(page.get_by_test_id("fan-status")).to_contain_text(openid)


async def test_follow_tap_a_menu_button_and_see_the_reply(
    live_app: LiveApp,  # noqa: F811
    wechat_live: WeChatClient,
    page: Page,
) -> None:
    async def ping(ctx: WebhookContext, msg: InboundMessage) -> Reply | None:
        return TextReply(f"pong {msg.openid[-4:]}")

    live_app.app.state.wechat_router.event("click", key=PING_KEY)(ping)
    await register_fan(live_app, TAGGED_FAN)
    # The default menu first (start-up may publish it concurrently: same menu either way), then a
    # conditional menu only this fan's tag sees, so the test owns what it taps.
    await publish_if_missing(wechat_live, base_url=live_app.url)
    tag = await wechat_live.create_tag("phone-browser")
    await wechat_live.tag_users(tag["id"], [TAGGED_FAN])
    menu = {
        "button": [
            {"type": "click", "name": "查询", "key": "UNUSED_KEY"},
            {"name": "测试", "sub_button": [{"type": "click", "name": "Ping", "key": PING_KEY}]},
        ],
        "matchrule": {"tag_id": str(tag["id"])},
    }
    await wechat_live.add_conditional_menu(menu)

    await open_phone(page, live_app, TAGGED_FAN)
    await page.get_by_test_id("follow").click()
    welcome = live_app.settings.webhook_welcome_text
    await expect(page.get_by_test_id("bubble-in").last).to_contain_text(welcome)

    await page.get_by_test_id("menu-button").filter(has_text="测试").click()
    await page.get_by_test_id("submenu-button").filter(has_text="Ping").click()
    await expect(page.get_by_test_id("bubble-in").last).to_have_text(f"pong {TAGGED_FAN[-4:]}")

    data = {
        "thing1": "贵州茅台",
        "phrase2": "买入",
        "amount3": "¥1688.00",
        "number4": "100",
        "time5": "2026-01-05 10:31:02",
    }
    detail = live_app.url + "/h5/account/orders"
    await wechat_live.send_template(
        openid=TAGGED_FAN, template_id=TRADE_FILL, data=data, url=detail
    )
    card = page.get_by_test_id("template-card")
    await expect(card).to_contain_text("委托成交提醒")
    await expect(card).to_contain_text("贵州茅台")
    await expect(card.get_by_test_id("template-detail")).to_contain_text("详情")
    await screenshot(page, "phone-follow-click-template")


async def test_default_menu_text_and_view_link(
    live_app: LiveApp,  # noqa: F811
    wechat_live: WeChatClient,
    page: Page,
) -> None:
    await publish_if_missing(wechat_live, base_url=live_app.url)
    await open_phone(page, live_app, PLAIN_FAN)
    await page.get_by_test_id("follow").click()
    buttons = page.get_by_test_id("menu-button")
    await expect(buttons).to_have_text(["账户", "提醒", "开户/下载"])

    await page.locator("#toggle-input").click()
    await page.get_by_test_id("text-input").fill("你好")
    await page.get_by_test_id("send").click()
    await expect(page.get_by_test_id("bubble-out").last).to_have_text("你好")
    default_reply = live_app.settings.webhook_default_reply
    await expect(page.get_by_test_id("bubble-in").last).to_contain_text(default_reply)

    await page.locator("#toggle-input").click()
    await buttons.filter(has_text="账户").click()
    await page.get_by_test_id("submenu-button").filter(has_text="绑定账户").click()
    await expect(page.get_by_test_id("webview")).to_be_visible()
    await expect(page.locator("#webview-title")).to_have_text(live_app.url + "/h5/bind")
    await screenshot(page, "phone-default-menu-view")
