"""Menu clicks through the real webhook, against the sandbox counter, for every demo customer."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

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
from app.push.models import CsMessage
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


class TestSlowCounter:
    @pytest.fixture
    def settings(self) -> Settings:
        return make_settings(webhook_time_budget_s=0.05)

    async def test_overrun_answers_success_then_sends_the_reply_as_cs_message(
        self, h5_app: FastAPI
    ) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            release = asyncio.Event()

            async def held(_seconds: float) -> None:
                await release.wait()

            sandbox = sandbox_of(h5_app)
            sandbox.config.sleep = held
            sandbox.latency.fixed_ms = 1  # any latency goes through `sleep`
            answer = await click(h5_app, OPENID_A, "MENU_POSITIONS")
            release.set()
            await h5_app.state.webhook.drain()
        assert answer == {}  # `success`: WeChat does not retry, the fan sees nothing yet
        async with h5_app.state.sessionmaker() as session:
            [message] = (await session.scalars(select(CsMessage))).all()
        assert message.openid == OPENID_A
        assert message.message["msgtype"] == "news"
        assert message.message["news"]["articles"][0]["title"].startswith("我的持仓")
