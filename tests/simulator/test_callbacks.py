"""TEMPLATESENDJOBFINISH pushes: signed like WeChat, encrypted in AES modes, outcomes, retries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import xmltodict
from fastapi import FastAPI, Request
from starlette.responses import PlainTextResponse
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

from app.core.time import FakeClock
from app.simulator.state import WeChatSimulator
from app.simulator.wechat_api import create_wechat_simulator
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN, make_sim_config
from tests.simulator.conftest import OPENID, TRADE_FILL, call, fetch_token, trade_fill_data

WEBHOOK = "http://service.test/wechat"
ORIGINAL_ID = "gh_0123456789ab"


@dataclass
class Receiver:
    """Stands in for the service's /wechat: records each push, answers with `status`."""

    status: int = 200
    pushes: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/wechat")
        async def wechat(request: Request) -> PlainTextResponse:
            self.pushes.append((dict(request.query_params), await request.body()))
            return PlainTextResponse("success", status_code=self.status)

        return app


@dataclass
class Rig:
    client: httpx.AsyncClient
    sim: WeChatSimulator
    receiver: Receiver

    async def send(self, **extra: Any) -> int:
        token = await fetch_token(self.client)
        await self.client.post("/_admin/fans", json={"openid": OPENID})
        body = {"touser": OPENID, "template_id": TRADE_FILL, "data": trade_fill_data(), **extra}
        answer = await call(self.client, "/cgi-bin/message/template/send", token, json=body)
        assert answer["errcode"] == 0
        await self.sim.callbacks.join()
        msgid: int = answer["msgid"]
        return msgid

    async def configure(self, **callback: Any) -> None:
        response = await self.client.post("/_admin/callback", json={"enabled": True, **callback})
        assert response.status_code == 200


@pytest.fixture
async def rig(clock: FakeClock) -> AsyncIterator[Rig]:
    receiver = Receiver()
    transport = httpx.ASGITransport(app=receiver.app())
    async with httpx.AsyncClient(transport=transport) as push_http:
        config = make_sim_config(clock, webhook_url=WEBHOOK, callback_enabled=True)
        app = create_wechat_simulator(config, callback_http=push_http)
        sim: WeChatSimulator = app.state.simulator
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://sim"
        ) as client:
            yield Rig(client, sim, receiver)
        await sim.aclose()


def fields_of(xml: bytes | str) -> dict[str, str]:
    parsed: dict[str, str] = xmltodict.parse(xml)["xml"]
    return parsed


class TestModes:
    async def test_plain_push_is_signed(self, rig: Rig, clock: FakeClock) -> None:
        await rig.configure(mode="plain")
        msgid = await rig.send()
        [(query, body)] = rig.receiver.pushes
        check_signature(TEST_TOKEN, query["signature"], query["timestamp"], query["nonce"])
        assert query["openid"] == OPENID
        assert query["timestamp"] == str(int(clock.timestamp()))
        assert "encrypt_type" not in query
        fields = fields_of(body)
        assert fields["ToUserName"] == ORIGINAL_ID
        assert fields["FromUserName"] == OPENID
        assert fields["Event"] == "TEMPLATESENDJOBFINISH"
        assert (fields["MsgID"], fields["Status"]) == (str(msgid), "success")

    async def test_safe_push_is_encrypted_and_decrypts_with_wechatpy(self, rig: Rig) -> None:
        await rig.configure(mode="safe")
        msgid = await rig.send()
        [(query, body)] = rig.receiver.pushes
        assert query["encrypt_type"] == "aes"
        check_signature(TEST_TOKEN, query["signature"], query["timestamp"], query["nonce"])
        envelope = fields_of(body)
        assert set(envelope) == {"ToUserName", "Encrypt"}
        crypto = WeChatCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_APP_ID)
        plain = crypto.decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"]
        )
        fields = fields_of(plain)
        assert (fields["MsgID"], fields["Status"], fields["FromUserName"]) == (
            str(msgid),
            "success",
            OPENID,
        )

    async def test_compatible_push_carries_both(self, rig: Rig) -> None:
        await rig.configure(mode="compatible")
        msgid = await rig.send()
        [(query, body)] = rig.receiver.pushes
        fields = fields_of(body)
        assert fields["MsgID"] == str(msgid)
        crypto = WeChatCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_APP_ID)
        plain = crypto.decrypt_message(
            body, query["msg_signature"], query["timestamp"], query["nonce"]
        )
        assert fields_of(plain)["MsgID"] == str(msgid)

    async def test_tampered_signature_would_be_caught(self, rig: Rig) -> None:
        await rig.configure(mode="safe")
        await rig.send()
        [(query, body)] = rig.receiver.pushes
        crypto = WeChatCrypto("another-token", TEST_AES_KEY, TEST_APP_ID)
        with pytest.raises(InvalidSignatureException):
            crypto.decrypt_message(body, query["msg_signature"], query["timestamp"], query["nonce"])


class TestOutcomes:
    @pytest.mark.parametrize("status", ["failed:user block", "failed: system failed"])
    async def test_forced_outcome_reaches_push_and_inbox(self, rig: Rig, status: str) -> None:
        await rig.configure(mode="plain", outcomes={status: 1})
        await rig.send()
        [(_, body)] = rig.receiver.pushes
        assert fields_of(body)["Status"] == status
        [entry] = (await rig.client.get(f"/inbox/{OPENID}")).json()["messages"]
        assert entry["status"] == status

    async def test_mix_follows_the_weights(self, rig: Rig) -> None:
        await rig.configure(mode="plain", outcomes={"success": 0.8, "failed:user block": 0.2})
        for i in range(100):
            await rig.send(client_msg_id=f"m-{i}")
        statuses = [fields_of(body)["Status"] for _, body in rig.receiver.pushes]
        assert len(statuses) == 100
        assert 60 <= statuses.count("success") <= 95
        assert set(statuses) == {"success", "failed:user block"}

    async def test_duplicates_push_nothing_new(self, rig: Rig) -> None:
        await rig.configure(mode="plain")
        await rig.send(client_msg_id="same")
        await rig.send(client_msg_id="same")
        assert len(rig.receiver.pushes) == 1


class TestDeliveryFailures:
    async def test_disabled_callbacks_post_nothing(self, rig: Rig) -> None:
        await rig.client.post("/_admin/callback", json={"enabled": False})
        await rig.send()
        assert rig.receiver.pushes == []

    async def test_server_errors_are_retried_three_times(self, rig: Rig) -> None:
        rig.receiver.status = 503
        await rig.configure(mode="plain")
        await rig.send()
        assert len(rig.receiver.pushes) == 3
        stats = (await rig.client.get("/stats")).json()
        assert (stats["callbacks_failed"], stats["callbacks_sent"]) == (1, 0)

    async def test_rejections_are_counted_not_retried(self, rig: Rig) -> None:
        rig.receiver.status = 403
        await rig.configure(mode="plain")
        await rig.send()
        assert len(rig.receiver.pushes) == 1
        assert (await rig.client.get("/stats")).json()["callbacks_rejected"] == 1

    async def test_unreachable_webhook_counts_a_failure(self, clock: FakeClock) -> None:
        # Its own httpx client (none injected); nothing listens on the discard port.
        config = make_sim_config(
            clock, webhook_url="http://127.0.0.1:9/wechat", callback_enabled=True
        )
        app = create_wechat_simulator(config)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            await Rig(client, app.state.simulator, Receiver()).send()
            assert (await client.get("/stats")).json()["callbacks_failed"] == 1
        await app.state.simulator.aclose()
