"""The "解绑" text command and the bind prompt, through the real webhook."""

from __future__ import annotations

from fastapi import FastAPI

from app.core.time import FakeClock
from tests.accounts.helpers import (
    OPENID_A,
    OPENID_B,
    ZHANG,
    ZHANG_CASH,
    ZHANG_MARGIN,
    bound_fan,
    text_xml,
    webhook,
)


async def say(app: FastAPI, openid: str, content: str, msg_id: int) -> dict[str, str]:
    clock: FakeClock = app.state.clock
    return await webhook(app, text_xml(openid, content, msg_id, int(clock.timestamp())))


class TestUnbindCommand:
    async def test_with_one_account_unbinds_it(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)) as client:
            reply = await say(h5_app, OPENID_A, "解绑", 1)
            listed = await client.get("/h5/bind/accounts")
        assert reply["Content"].startswith("已解除资金账号 普通账户 ****1001 的绑定")
        assert listed.json() == []

    async def test_with_several_accounts_asks_for_the_last_four(self, h5_app: FastAPI) -> None:
        pairs = ((ZHANG_CASH, ZHANG.phone), (ZHANG_MARGIN, ZHANG.phone))
        async with bound_fan(h5_app, OPENID_A, *pairs) as client:
            ask = await say(h5_app, OPENID_A, "解绑", 1)
            missing = await say(h5_app, OPENID_A, "解绑 9999", 2)
            done = await say(h5_app, OPENID_A, "解绑 1001", 3)
            listed = await client.get("/h5/bind/accounts")
        assert "解绑 1001" in ask["Content"]
        assert "****1002" in ask["Content"]
        assert "未找到尾号为 9999" in missing["Content"]
        assert "默认账户已切换为 信用账户 ****1002" in done["Content"]
        assert [(b["account_no_masked"], b["is_default"]) for b in listed.json()] == [
            ("****1002", True)
        ]

    async def test_without_a_binding_says_so(self, h5_app: FastAPI) -> None:
        reply = await say(h5_app, OPENID_B, "解绑", 1)
        assert "尚未绑定" in reply["Content"]


async def test_the_word_bind_gets_the_binding_card(h5_app: FastAPI) -> None:
    reply = await say(h5_app, OPENID_B, "绑定账户", 1)
    assert reply["MsgType"] == "news"
    assert reply["Url"] == "http://testserver/h5/bind"
