"""The console in real headless Chromium: an operator drafts a push, a second person approves
it, and it is delivered through the WeChat simulator; an operator edits a keyword reply and a
fan's text gets the new answer; dead letters are listed and re-driven. Screenshots of the
dashboard, the menu editor, the keyword replies and the dead letters go to test-artifacts/."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.alerts import service as alerts_service
from app.alerts.constants import AlertType
from app.alerts.schemas import PreferencesUpdate
from app.content import service as content_service
from app.core.db import create_sessionmaker, unit_of_work
from app.core.redis import Redis
from app.fans.models import Fan
from app.ops import service as ops_service
from app.ops.constants import Role
from app.ops.pushes import fan_out_config
from app.ops.schemas import StaffCreate
from app.push.models import Delivery
from tests.live import LiveApp, chromium, screenshot, start_live_app  # noqa: F401 - fixtures
from tests.ops.conftest import PASSWORD

pytestmark = pytest.mark.browser
FANS = ["oConsoleFan000001", "oConsoleFan000002"]
WAIT_MS = 20_000


@pytest.fixture
def live_worker_app(engine: AsyncEngine, redis: Redis, truncate_tables: None) -> Iterator[LiveApp]:
    """The real app over loopback with the worker loops in-process (relay, sender, scheduler)."""
    with start_live_app(run_worker_in_process=True) as live:
        yield live


async def seed(engine: AsyncEngine, live: LiveApp) -> None:
    maker = create_sessionmaker(engine)
    async with unit_of_work(maker) as session:
        for username, role in (("olivia", Role.OPERATOR), ("arthur", Role.APPROVER)):
            data = StaffCreate(
                username=username, display_name=username, password=PASSWORD, role=role
            )
            await ops_service.create_staff(
                session, actor=ops_service.CLI_PRINCIPAL, data=data, now=live.app.state.clock.now()
            )
        for openid in FANS:
            session.add(Fan(openid=openid, is_subscribed=True))
        await session.flush()
        for openid in FANS:
            await alerts_service.update_preferences(
                session,
                openid=openid,
                update=PreferencesUpdate(categories={"marketing": True}),
                set_quiet=False,
            )
    spec = next(s for s in alerts_service.all_specs() if s.alert_type is AlertType.BROADCAST)
    async with httpx.AsyncClient(base_url=live.url + "/_sim/wechat", timeout=10) as sim:
        response = await sim.post(
            "/_admin/templates",
            json={
                "template_id": spec.default_template_id,
                "title": spec.title,
                "content": spec.content(),
            },
        )
        assert response.status_code == 200, response.text
        for openid in FANS:
            response = await sim.post("/_admin/fans", json={"openid": openid, "subscribed": True})
            assert response.status_code == 200, response.text


@pytest.fixture
async def contexts(chromium: Browser) -> AsyncIterator[tuple[BrowserContext, BrowserContext]]:  # noqa: F811
    """Two browsers' worth of cookies: the operator's and the approver's."""
    first = await chromium.new_context(viewport={"width": 1280, "height": 900})
    second = await chromium.new_context(viewport={"width": 1280, "height": 900})
    yield first, second
    await first.close()
    await second.close()


async def sign_in(context: BrowserContext, live: LiveApp, username: str) -> Page:
    page = await context.new_page()
    page.set_default_timeout(WAIT_MS)
    await page.goto(f"{live.url}/console/dashboard")
    await expect(page).to_have_url(f"{live.url}/console/login")
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login-button")
    await expect(page.locator("body")).to_have_attribute("data-ready", "dashboard")
    await expect(page.locator("#whoami")).to_contain_text(username)
    return page


async def test_draft_approve_and_watch_a_push_deliver(
    live_worker_app: LiveApp,
    engine: AsyncEngine,
    contexts: tuple[BrowserContext, BrowserContext],
) -> None:
    live = live_worker_app
    await seed(engine, live)
    operator = await sign_in(contexts[0], live, "olivia")

    await operator.goto(f"{live.url}/console/pushes")
    await expect(operator.locator("body")).to_have_attribute("data-ready", "pushes")
    await operator.select_option("#push-topic", "marketing")
    await operator.fill("#push-title", "App新版本上线")
    await operator.fill("#push-body", "交易页面全面升级，欢迎更新体验")
    await operator.click("#push-create")
    await expect(operator.locator("#preview-recipients")).to_have_text("2")
    await expect(operator.locator("#template-preview")).to_contain_text("App新版本上线")
    await expect(operator.locator("#approve-draft")).to_have_count(0)  # an operator cannot

    approver = await sign_in(contexts[1], live, "arthur")
    await approver.goto(f"{live.url}/console/pushes")
    await approver.locator("tr[data-draft]").first.click()
    await expect(approver.locator("#preview-quota")).to_have_text("2")
    await approver.click("#approve-draft")
    await expect(approver.locator("[data-status]").first).to_have_text("sent")
    # Progress polls until every delivery reached a final state through the simulator.
    delivered = approver.locator('td[data-count="delivered"]')
    failed = approver.locator('td[data-count="failed"]')
    await expect(approver.locator("#draft-progress")).to_be_visible()
    await approver.wait_for_function(
        """() => {
            const cell = (s) => document.querySelector(`td[data-count="${s}"]`);
            const c = (s) => Number((cell(s) || {}).textContent || 0);
            return c("delivered") + c("failed") === 2;
        }""",
        timeout=WAIT_MS,
    )
    assert int(await delivered.text_content() or 0) + int(await failed.text_content() or 0) == 2
    async with httpx.AsyncClient(base_url=live.url + "/_sim/wechat", timeout=10) as sim:
        for openid in FANS:
            inbox = (await sim.get(f"/inbox/{openid}")).json()["messages"]
            titles = [m["payload"].get("data", {}) for m in inbox if m["kind"] == "template"]
            assert len(titles) == 1
            assert "App新版本上线" in str(titles[0])

    await approver.goto(f"{live.url}/console/dashboard")
    await expect(approver.locator("body")).to_have_attribute("data-ready", "dashboard")
    await expect(approver.locator("#kpi-fans")).to_have_text("2")
    await screenshot(approver, "ops-dashboard")

    # Menu: the operator edits and requests publication; the approver publishes (four-eyes).
    await operator.goto(f"{live.url}/console/account")
    await expect(operator.locator("body")).to_have_attribute("data-ready", "account")
    for name in ("账户", "开户"):
        await operator.click("#menu-add-top")
        await operator.locator("[data-menu-name]").last.fill(name)
    await operator.locator("[data-add-sub]").first.click()
    await expect(operator.locator("#menu-phone-bar .menu-top")).to_have_count(2)
    await expect(operator.locator("#menu-phone-bar")).to_contain_text("开户")
    await operator.click("#menu-request")
    await expect(operator.locator("#flash")).to_contain_text("awaits approval")
    await screenshot(operator, "ops-menu-editor")

    await approver.goto(f"{live.url}/console/account")
    await expect(approver.locator("body")).to_have_attribute("data-ready", "account")
    await approver.locator("[data-approve-menu]").first.click()
    await expect(approver.locator('[data-status="done"]')).to_have_count(1)
    async with httpx.AsyncClient(base_url=live.url + "/_sim/wechat", timeout=10) as sim:
        token = (
            await sim.get(
                "/cgi-bin/token",
                params={
                    "grant_type": "client_credential",
                    "appid": live.settings.wechat_app_id,
                    "secret": live.settings.wechat_app_secret.get_secret_value(),
                },
            )
        ).json()["access_token"]
        menu = (
            await sim.get("/cgi-bin/get_current_selfmenu_info", params={"access_token": token})
        ).json()
    assert "开户" in str(menu)


# ---- keyword replies and dead letters ----------------------------------------------------

SEND_PATH = "/cgi-bin/message/template/send"
OLD_REPLY, NEW_REPLY = "股票佣金万三", "股票佣金万二点五，详询客服"


@pytest.fixture
def live_content_app(engine: AsyncEngine, redis: Redis, truncate_tables: None) -> Iterator[LiveApp]:
    """The worker loops in-process, and keyword replies re-read every 0.2 s (not 10 s)."""
    with start_live_app(run_worker_in_process=True, content_keyword_refresh_s=0.2) as live:
        yield live


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll a condition the live app reaches on its own (its worker and cache loops run on
    the wall clock in another thread); fail after WAIT_MS."""
    for _ in range(WAIT_MS // 100):
        if await check():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


async def statuses(engine: AsyncEngine) -> dict[int, str]:
    async with engine.connect() as conn:
        rows = (await conn.execute(select(Delivery.id, Delivery.status))).all()
    return {int(i): str(s) for i, s in rows}


async def dead_letter_two_broadcasts(engine: AsyncEngine, live: LiveApp) -> list[int]:
    """A marketing broadcast to both fans while WeChat refuses the template (40037, a
    configuration error ops can fix): the live worker dead-letters both sends."""
    async with httpx.AsyncClient(base_url=live.url + "/_sim/wechat", timeout=10) as sim:
        fault = {"path": SEND_PATH, "errcode": 40037, "count": 2}
        (await sim.post("/_admin/faults", json=fault)).raise_for_status()
    body = {
        "target": {"kind": "topic", "topic": "marketing"},
        "title": "新股申购提醒",
        "body": "明日可申购新股",
        "category": "marketing",
    }
    async with unit_of_work(create_sessionmaker(engine)) as session:
        await alerts_service.broadcast(
            session,
            body=json.dumps(body, ensure_ascii=False).encode(),
            key="browser-dead-letters",
            now=live.app.state.clock.now(),
            config=fan_out_config(live.settings),
        )

    async def both_failed() -> bool:
        return sorted((await statuses(engine)).values()) == ["failed", "failed"]

    await eventually(both_failed, "both sends to be dead-lettered")
    return sorted(await statuses(engine))


async def fan_says(live: LiveApp, openid: str, text: str) -> str | None:
    """A fan's text through the phone emulator (signed like WeChat); the reply's content."""
    async with httpx.AsyncClient(base_url=live.url, timeout=10) as http:
        response = await http.post("/_sim/phone/api/text", json={"openid": openid, "content": text})
        response.raise_for_status()
    reply = response.json()["reply"] or {}
    content = reply.get("content")
    return str(content) if content is not None else None


async def test_edit_a_keyword_reply_and_redrive_dead_letters(
    live_content_app: LiveApp,
    engine: AsyncEngine,
    contexts: tuple[BrowserContext, BrowserContext],
) -> None:
    live = live_content_app
    await seed(engine, live)
    async with unit_of_work(create_sessionmaker(engine)) as session:
        data = StaffCreate(
            username="vera", display_name="vera", password=PASSWORD, role=Role.VIEWER
        )
        await ops_service.create_staff(
            session, actor=ops_service.CLI_PRINCIPAL, data=data, now=live.app.state.clock.now()
        )
        rule = await content_service.create_keyword_reply(
            session, keyword="费率", reply_text=OLD_REPLY
        )
        rule_id = rule.id

    def fan_sees(expected: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await fan_says(live, FANS[0], "费率") == expected

        return check

    await eventually(fan_sees(OLD_REPLY), "the seeded keyword reply")

    # The operator edits the reply in the console; a bad edit is explained inline.
    operator = await sign_in(contexts[0], live, "olivia")
    await operator.goto(f"{live.url}/console/account")
    await expect(operator.locator("body")).to_have_attribute("data-ready", "account")
    await operator.click(f'[data-edit-reply="{rule_id}"]')
    await expect(operator.locator("#kw-form-title")).to_have_text(f"Edit keyword reply #{rule_id}")
    await operator.fill("#kw-reply", NEW_REPLY)
    await operator.click("#kw-save")
    await expect(operator.locator(f'[data-reply-text="{rule_id}"]')).to_have_text(NEW_REPLY[:40])
    await operator.click(f'[data-edit-reply="{rule_id}"]')
    await operator.fill("#kw-keyword", "(")
    await operator.select_option("#kw-match", "regex")
    await operator.click("#kw-save")
    await expect(operator.locator("#kw-error")).to_contain_text("invalid regular expression")
    await screenshot(operator, "ops-keyword-replies")
    await eventually(fan_sees(NEW_REPLY), "the fan to get the edited reply")

    # Dead letters: listed from PostgreSQL, re-driven one by one and then all at once.
    dead = await dead_letter_two_broadcasts(engine, live)
    await operator.goto(f"{live.url}/console/pushes")
    await expect(operator.locator("body")).to_have_attribute("data-ready", "pushes")
    await expect(operator.locator("#dead-count")).to_have_text("2")
    await expect(operator.locator("tr[data-dead]")).to_have_count(2)
    await expect(operator.locator(f'tr[data-dead="{dead[0]}"]')).to_contain_text("40037")
    await screenshot(operator, "ops-dead-letters")

    viewer = await sign_in(contexts[1], live, "vera")
    await viewer.goto(f"{live.url}/console/pushes")
    await expect(viewer.locator("tr[data-dead]")).to_have_count(2)
    await expect(viewer.locator("[data-redrive]")).to_have_count(0)
    await expect(viewer.locator("#redrive")).to_be_disabled()
    await viewer.goto(f"{live.url}/console/account")
    await expect(viewer.locator("body")).to_have_attribute("data-ready", "account")
    await expect(viewer.locator(f'[data-reply="{rule_id}"]')).to_be_visible()
    await expect(viewer.locator("#kw-form, [data-edit-reply], #art-form")).to_have_count(0)

    await operator.click(f'[data-redrive="{dead[0]}"]')
    await expect(operator.locator("tr[data-dead]")).to_have_count(1)
    await operator.click("#redrive")
    await expect(operator.locator("#no-dead-letters")).to_be_visible()

    async def both_sent() -> bool:
        return all(s in ("sent", "delivered") for s in (await statuses(engine)).values())

    await eventually(both_sent, "the re-driven sends to reach WeChat")
    async with httpx.AsyncClient(base_url=live.url + "/_sim/wechat", timeout=10) as sim:
        for openid in FANS:
            inbox = (await sim.get(f"/inbox/{openid}")).json()["messages"]
            assert any(
                "新股申购提醒" in str(m["payload"]) for m in inbox if m["kind"] == "template"
            )
