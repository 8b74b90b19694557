"""The campaign page in real headless Chromium: OAuth through the simulator, tap 抽奖, result."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from app.campaigns import campaigns, texts
from app.core.db import create_sessionmaker, unit_of_work
from app.core.time import SystemClock
from tests.campaigns.lottery_support import bind, campaign_body
from tests.live import LiveApp, chromium, live_app, screenshot  # noqa: F401 - pytest fixtures

OPENID = "oBrowserDrawFan00000000001"


@pytest.mark.browser
async def test_open_through_oauth_tap_draw_and_see_the_prize(
    live_app: LiveApp,  # noqa: F811 - the fixture
    chromium: Browser,  # noqa: F811 - the fixture
    engine: AsyncEngine,
) -> None:
    sessionmaker = create_sessionmaker(engine)
    now = SystemClock().now()  # the live app runs on the wall clock
    body = campaign_body(
        "spring",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=7),
        eligibility=["bound_customer"],
        payout_after="first_trade",
    )
    async with unit_of_work(sessionmaker) as session:
        await campaigns.create_campaign(session, body, actor="t", now=now)
    await bind(sessionmaker, OPENID, "C-BROWSER")

    context = await chromium.new_context(viewport={"width": 390, "height": 844})
    page = await context.new_page()
    try:
        await page.goto(f"{live_app.url}/h5/campaigns/spring")
        await page.wait_for_url("**/connect/oauth2/authorize**")
        authorize = page.url.split("#", 1)[0]
        await page.goto(f"{authorize}&openid={OPENID}")  # the fan taps "allow"
        await page.wait_for_url(f"{live_app.url}/h5/campaigns/spring")
        await expect(page.locator("#title")).to_have_text("春季开户礼")
        await expect(page.locator("#status")).to_contain_text(texts.STATUS_ELIGIBLE)
        await expect(page.locator("#prizes")).to_contain_text("现金红包")
        await expect(page.locator("#rules")).to_contain_text("已在本公众号绑定证券账户的客户")
        await screenshot(page, "campaign-page")

        await page.click("#draw")
        await expect(page.locator("#result-title")).to_have_text("恭喜中奖")
        await expect(page.locator("#result-message")).to_contain_text(
            "恭喜您获得「现金红包」！奖品将在确认您完成首笔交易后发放。"
        )
        await expect(page.locator("#draw")).to_be_disabled()
        await expect(page.locator("#result-link")).to_be_hidden()
        await expect(page.locator("#status")).to_be_hidden()  # replaced by the result
        await screenshot(page, "campaign-won")

        await page.reload()
        await expect(page.locator("#status")).to_contain_text("您已中奖：现金红包")
        await expect(page.locator("#draw")).to_be_disabled()
    finally:
        await context.close()
