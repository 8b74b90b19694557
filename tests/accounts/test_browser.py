"""The binding page and a detail page in real headless Chromium (WebCrypto RSA-OAEP included)."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.accounts.helpers import ZHANG, ZHANG_CASH
from tests.live import LiveApp, chromium, live_app, screenshot  # noqa: F401 - pytest fixtures

OPENID = "oBrowserFan0000000000000001"
RED = "rgb(228, 57, 60)"
GREEN = "rgb(26, 158, 75)"


@pytest.mark.browser
async def test_bind_in_the_browser_then_read_positions(
    live_app: LiveApp,  # noqa: F811 - the fixture
    chromium: Browser,  # noqa: F811 - the fixture
) -> None:
    async with httpx.AsyncClient(base_url=live_app.url, timeout=10) as admin:
        await admin.post("/_sim/broker/_admin/maintenance", json={"mode": "off"})
        context = await chromium.new_context(viewport={"width": 390, "height": 844})
        page = await context.new_page()
        try:
            await page.goto(f"{live_app.url}/h5/bind")
            await page.wait_for_url("**/connect/oauth2/authorize**")
            authorize = page.url.split("#", 1)[0]
            await page.goto(f"{authorize}&openid={OPENID}")  # the fan taps "allow"
            await page.wait_for_url(f"{live_app.url}/h5/bind")
            await expect(page.locator("#privacy-notice")).to_contain_text(
                "交易密码在您的手机上加密"
            )
            await screenshot(page, "accounts-bind-page")

            await page.fill("#account_no", ZHANG_CASH.account_no)
            await page.fill("#password", ZHANG_CASH.password)
            await page.click("#send-sms")
            await expect(page.locator("#msg")).to_contain_text("验证码已发送至138****0001")
            sms = await admin.get(f"/_sim/broker/_admin/sms/{ZHANG.phone}")
            await page.fill("#sms_code", sms.json()["latest"]["code"])
            await page.click("#submit")
            await expect(page.locator("#msg")).to_contain_text("请先阅读并勾选")
            await page.check("#consent_privacy")
            await page.check("#consent_financial")
            await page.click("#submit")
            await expect(page.locator("#msg")).to_contain_text("绑定成功：普通账户 ****1001")
            await expect(page.locator("ul.accounts li")).to_contain_text("****1001")
            assert await page.input_value("#password") == ""
            await screenshot(page, "accounts-bound")

            await page.goto(f"{live_app.url}/h5/account/positions")
            await expect(page.locator("#positions")).to_be_visible()
            gain = page.locator("td.pnl.up").first
            loss = page.locator("td.pnl.down").first
            assert await gain.evaluate("e => getComputedStyle(e).color") == RED
            assert await loss.evaluate("e => getComputedStyle(e).color") == GREEN
            await screenshot(page, "account-center-positions")
        finally:
            await context.close()
