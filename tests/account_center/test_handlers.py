"""Menu clicks through the real webhook, against the sandbox counter, for every demo customer."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from app.account_center import formatting as fmt
from app.account_center import texts
from app.account_center.constants import MENU_KEYS, OVERVIEW_KEY, QueryKind
from app.brokerage.fake import InMemoryBrokerageGateway
from app.brokerage.gateway import IpoStatus
from app.core.config import Settings
from app.core.time import FakeClock
from app.push import worker as push_worker
from app.push.models import CsMessage
from app.push.worker import WorkerContext
from app.wechat.client import create_wechat_client
from app.wechat.transport import HttpxTransport
from tests.accounts.helpers import (
    LI,
    OPENID_A,
    OPENID_B,
    WANG,
    ZHANG,
    ZHANG_CASH,
    ZHANG_MARGIN,
    bound_fan,
    click,
    click_xml,
    sandbox_of,
    text_xml,
    webhook,
)
from tests.conftest import make_settings

KEY_OF = {kind: key for key, kind in MENU_KEYS.items()}
UPDATED = re.compile(r"数据更新于 \d\d:\d\d")


def expected_counter(clock: FakeClock) -> InMemoryBrokerageGateway:
    """The same counter rules, read directly, to compute the figures the replies must show."""
    return InMemoryBrokerageGateway(clock=clock, maintenance_window=None)


async def click_all(app: FastAPI, openid: str) -> dict[str, dict[str, str]]:
    answers = {OVERVIEW_KEY: await click(app, openid, OVERVIEW_KEY)}
    for key in MENU_KEYS:
        answers[key] = await click(app, openid, key)
    return answers


class TestEveryQueryForEveryDemoCustomer:
    async def test_zhang_cash_account(self, h5_app: FastAPI, clock: FakeClock) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            answers = await click_all(h5_app, OPENID_A)
        counter = expected_counter(clock)
        ids = {"client_id": ZHANG.client_id, "account_id": ZHANG_CASH.account_id}
        assets = await counter.get_assets(**ids)
        positions = await counter.get_positions(**ids)
        pnl = await counter.get_holding_pnl(**ids)
        orders = await counter.get_today_orders(**ids)
        flows = await counter.get_today_fund_flows(**ids)

        overview = answers[OVERVIEW_KEY]["Content"]
        assert overview.startswith("【资产总览】")
        assert f"总资产：{fmt.money(assets.total_assets)}" in overview
        assert "当前账户：普通账户 ****1001" in overview
        assert UPDATED.search(overview)
        assert "融资融券" not in overview

        info = answers[KEY_OF[QueryKind.PERSONAL_INFO]]["Content"]
        assert "姓名：张*" in info
        assert "手机：138****0001" in info
        assert "风险等级：C4（积极型）" in info
        assert ZHANG.phone not in info

        debt = answers[KEY_OF[QueryKind.LIABILITIES]]["Content"]
        assert texts.LIABILITIES_CASH in debt

        card = answers[KEY_OF[QueryKind.POSITIONS]]
        assert card["MsgType"] == "news"
        total = sum((p.market_value for p in positions), start=assets.market_value * 0)
        assert card["Title"] == f"我的持仓（{len(positions)}只） 市值{fmt.money(total)}"
        assert card["Url"] == "http://testserver/h5/account/positions"
        first = positions[0]
        assert (
            f"{first.security_name} {first.security_code} {fmt.pnl(first.pnl_amount)}"
            in (card["Description"])
        )
        assert "▲" in card["Description"] or "▼" in card["Description"]

        pnl_text = answers[KEY_OF[QueryKind.PNL]]["Content"]
        assert f"持仓盈亏：{fmt.pnl(pnl.pnl_amount)}（{fmt.percent(pnl.pnl_ratio)}）" in pnl_text

        orders_card = answers[KEY_OF[QueryKind.ORDERS]]
        assert orders_card["Title"] == f"当日委托（{len(orders)}笔）"
        assert orders_card["Url"].endswith("/h5/account/orders")
        flows_card = answers[KEY_OF[QueryKind.FUND_FLOWS]]
        assert flows_card["Title"] == f"当日资金流水（{len(flows)}笔）"

    async def test_zhang_margin_account_shows_its_debt(
        self, h5_app: FastAPI, clock: FakeClock
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_MARGIN, ZHANG.phone)):
            answers = await click_all(h5_app, OPENID_A)
        counter = expected_counter(clock)
        debt = await counter.get_liabilities(
            client_id=ZHANG.client_id, account_id=ZHANG_MARGIN.account_id
        )
        assert debt.is_margin
        assert debt.maintenance_ratio is not None
        ratio = fmt.percent(debt.maintenance_ratio, signed=False)
        overview = answers[OVERVIEW_KEY]["Content"]
        assert "【融资融券负债】" in overview
        assert f"维持担保比例：{ratio}" in overview
        liabilities = answers[KEY_OF[QueryKind.LIABILITIES]]["Content"]
        assert f"融资负债：{fmt.money(debt.financing_debt)}" in liabilities
        assert "当前账户：信用账户 ****1002" in liabilities

    async def test_li_has_an_ipo_win_awaiting_payment(
        self, h5_app: FastAPI, clock: FakeClock
    ) -> None:
        account = LI.accounts[0]
        async with bound_fan(h5_app, OPENID_A, (account, LI.phone)):
            answers = await click_all(h5_app, OPENID_A)
        subs = await expected_counter(clock).get_ipo_subscriptions(
            client_id=LI.client_id, account_id=account.account_id
        )
        won = next(s for s in subs if s.status is IpoStatus.WON)
        assert won.payment_due_at is not None
        card = answers[KEY_OF[QueryKind.IPO]]
        assert card["Title"] == "🎉 新股中签，请按时缴款"
        assert f"{won.security_name} 中签{fmt.quantity(won.won_quantity)}股" in card["Description"]
        assert f"应缴{fmt.money(won.payment_amount)}" in card["Description"]
        assert f"请于{fmt.month_day_time(won.payment_due_at)}前" in card["Description"]
        assert card["Url"].endswith("/h5/account/ipo")

    async def test_wang_has_a_brand_new_empty_account(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (WANG.accounts[0], WANG.phone)):
            answers = await click_all(h5_app, OPENID_A)
        assert texts.POSITIONS_EMPTY in answers[KEY_OF[QueryKind.POSITIONS]]["Content"]
        assert texts.ORDERS_EMPTY in answers[KEY_OF[QueryKind.ORDERS]]["Content"]
        assert texts.PNL_EMPTY in answers[KEY_OF[QueryKind.PNL]]["Content"]
        assert texts.IPO_EMPTY in answers[KEY_OF[QueryKind.IPO]]["Content"]
        assert "总资产：¥" in answers[OVERVIEW_KEY]["Content"]


class TestFailures:
    async def test_unbound_fan_gets_the_bind_prompt(self, h5_app: FastAPI) -> None:
        for key in (OVERVIEW_KEY, *MENU_KEYS):
            reply = await click(h5_app, OPENID_B, key)
            assert reply["MsgType"] == "news"
            assert reply["Title"] == "绑定证券账户"
            assert reply["Url"] == "http://testserver/h5/bind"

    async def test_maintenance_gets_a_polite_explanation(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            sandbox_of(h5_app).set_maintenance("on")
            reply = await click(h5_app, OPENID_A, "MENU_POSITIONS")
        assert reply["MsgType"] == "text"
        assert "例行维护" in reply["Content"]

    async def test_nightly_window_says_when_it_ends(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            clock: FakeClock = h5_app.state.clock
            clock.current = datetime(2026, 1, 7, 15, 45, tzinfo=UTC)  # 23:45 Beijing
            reply = await click(h5_app, OPENID_A, "MENU_ORDERS")
        assert reply["Content"] == texts.MAINTENANCE_UNTIL.format(until="00:30")

    async def test_counter_down_gets_a_polite_explanation(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            fault = {"op": "assets", "http_status": 500}
            assert (await client.post("/_sim/broker/_admin/faults", json=fault)).is_success
            reply = await click(h5_app, OPENID_A, OVERVIEW_KEY)
        assert reply["Content"] == texts.UNAVAILABLE


class TestPerFanCache:
    async def test_a_second_click_is_served_from_cache_until_it_expires(
        self, h5_app: FastAPI
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            requests = sandbox_of(h5_app).requests
            first = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            second = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            assert requests["positions"] == 1
            h5_app.state.clock.advance(60)
            third = await click(h5_app, OPENID_A, "MENU_POSITIONS")
        assert requests["positions"] == 2
        assert first["Description"] == second["Description"]
        assert UPDATED.search(third["Description"])

    async def test_unbinding_stops_queries_at_once(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            await click(h5_app, OPENID_A, "MENU_POSITIONS")  # cached now
            clock: FakeClock = h5_app.state.clock
            await webhook(h5_app, text_xml(OPENID_A, "解绑", 1, int(clock.timestamp())))
            reply = await click(h5_app, OPENID_A, "MENU_POSITIONS")
        assert reply["Title"] == "绑定证券账户"


def hold_counter(app: FastAPI) -> asyncio.Event:
    """Make every sandbox counter call wait until the returned event is set."""
    release = asyncio.Event()

    async def held(_seconds: float) -> None:
        await release.wait()

    sandbox = sandbox_of(app)
    sandbox.config.sleep = held
    sandbox.latency.fixed_ms = 1  # any latency goes through `sleep`
    return release


async def send_cs_messages(app: FastAPI) -> None:
    """One pass of the push worker, sending through the app's WeChat client to the simulator."""
    settings: Settings = app.state.settings
    # The app's client sends over aiohttp (real sockets); here every call stays in-process.
    in_process = HttpxTransport(app.state.http, timeout_s=10)
    wechat = create_wechat_client(
        settings, app.state.redis, app.state.http, send_transport=in_process, clock=app.state.clock
    )
    ctx = WorkerContext(
        redis=app.state.redis,
        sessionmaker=app.state.sessionmaker,
        wechat=wechat,
        clock=app.state.clock,
        config=replace(push_worker.config_from_settings(settings), block_ms=None),
    )
    await push_worker.run_once(ctx)


async def follow(app: FastAPI, openid: str) -> None:
    """The fan follows the account in the simulator (OAuth alone knows them as a visitor)."""
    body = {"openid": openid, "subscribed": True}
    response = await app.state.http.post("/_sim/wechat/_admin/fans", json=body)
    assert response.status_code == 200, response.text


def custom_messages(app: FastAPI, openid: str) -> list[dict[str, Any]]:
    inbox = app.state.wechat_simulator.inbox.list(openid)
    return [entry["payload"] for entry in inbox if entry["kind"] == "custom"]


class TestSlowCounter:
    @pytest.fixture
    def settings(self) -> Settings:
        return make_settings(webhook_time_budget_s=0.05)

    async def test_overrun_answers_querying_then_the_card_once_as_a_cs_message(
        self, h5_app: FastAPI
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            await follow(h5_app, OPENID_A)
            release = hold_counter(h5_app)
            answer = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            release.set()
            await h5_app.state.webhook.drain()
            await send_cs_messages(h5_app)
        assert answer["MsgType"] == "text"
        assert answer["Content"] == texts.QUERYING  # the passive reply at the deadline
        [message] = custom_messages(h5_app, OPENID_A)  # delivered by WeChat (the simulator)
        assert message["msgtype"] == "news"
        assert message["news"]["articles"][0]["title"].startswith("我的持仓")
        async with h5_app.state.sessionmaker() as session:
            [row] = (await session.scalars(select(CsMessage))).all()
        assert (row.openid, row.status, row.reason) == (OPENID_A, "sent", "webhook.overrun")

    async def test_wechat_retries_share_the_interim_text_and_query_once(
        self, h5_app: FastAPI
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            await follow(h5_app, OPENID_A)
            sandbox = sandbox_of(h5_app)
            before = sandbox.requests["positions"]
            release = hold_counter(h5_app)
            clock: FakeClock = h5_app.state.clock
            xml = click_xml(OPENID_A, "MENU_ORDERS", int(clock.timestamp()) + 1)
            first = await webhook(h5_app, xml)
            retry = await webhook(h5_app, xml)  # the handler is still waiting on the counter
            release.set()
            await h5_app.state.webhook.drain()
            late_retry = await webhook(h5_app, xml)  # after the answer went out as CS message
            await send_cs_messages(h5_app)
            await send_cs_messages(h5_app)
        assert [first["Content"], retry["Content"], late_retry["Content"]] == [texts.QUERYING] * 3
        assert sandbox.requests["orders"] == 1
        assert sandbox.requests["positions"] == before
        [message] = custom_messages(h5_app, OPENID_A)
        assert message["news"]["articles"][0]["title"].startswith("当日委托")

    async def test_a_cached_answer_still_comes_back_directly(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            release = hold_counter(h5_app)
            slow = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            release.set()
            await h5_app.state.webhook.drain()  # the late answer filled the fan's cache
            fast = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            await h5_app.state.webhook.drain()
        assert slow["Content"] == texts.QUERYING
        assert fast["MsgType"] == "news"
        assert fast["Title"].startswith("我的持仓")
        assert UPDATED.search(fast["Description"])
        async with h5_app.state.sessionmaker() as session:
            assert len((await session.scalars(select(CsMessage))).all()) == 1  # the slow one
