"""WeChat's half of the phone: signing like WeChat, and showing only replies WeChat would show."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.time import FakeClock
from app.simulator.phone_bridge import (
    InvalidReplyError,
    PhoneBridge,
    PhoneConfig,
    is_openid,
    new_openid,
)
from app.simulator.signing import event_xml
from app.wechat.crypto import MessageCrypto, url_signature
from app.wechat.messages import parse_inbound
from app.wechat.replies import Article, NewsReply, TextReply
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN

FAN = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
ACCOUNT = "gh_0123456789ab"


@pytest.fixture
async def bridge(clock: FakeClock) -> AsyncIterator[PhoneBridge]:
    config = PhoneConfig(
        webhook_url="http://svc/wechat",
        simulator_url="http://svc/_sim/wechat",
        token=TEST_TOKEN,
        encoding_aes_key=TEST_AES_KEY,
        app_id=TEST_APP_ID,
    )
    async with httpx.AsyncClient() as http:
        yield PhoneBridge(config, http=http, clock=clock)


def crypto() -> MessageCrypto:
    return MessageCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_APP_ID)


def text_reply(content: str = "您好", to_user: str = FAN) -> str:
    return TextReply(content).render(to_user=to_user, from_user=ACCOUNT, create_time=1)


class TestSign:
    def test_plain_mode_signs_the_query_only(self, bridge: PhoneBridge, clock: FakeClock) -> None:
        xml = "<xml><Content><![CDATA[hi]]></Content></xml>"
        params, body = bridge.sign(xml, openid=FAN, mode="plain")
        assert body == xml
        assert params["timestamp"] == str(int(clock.timestamp()))
        assert params["signature"] == url_signature(
            TEST_TOKEN, params["timestamp"], params["nonce"]
        )
        assert "encrypt_type" not in params

    @pytest.mark.parametrize("mode", ["safe", "compatible"])
    def test_aes_modes_encrypt_and_sign_the_payload(self, bridge: PhoneBridge, mode: str) -> None:
        fields = bridge.text_fields(FAN, "查询持仓")
        plain = event_xml(fields)
        params, body = bridge.sign(plain, openid=FAN, mode=mode)  # type: ignore[arg-type]
        assert params["encrypt_type"] == "aes"
        encrypt = body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        assert crypto().verify_msg_signature(
            params["msg_signature"], params["timestamp"], params["nonce"], encrypt
        )
        message = parse_inbound(crypto().decrypt(encrypt))
        assert message.openid == FAN
        assert getattr(message, "content", None) == "查询持仓"
        assert ("<Content>" in body) is (mode == "compatible")


class TestOpenReply:
    @pytest.mark.parametrize("body", [b"", b"success", b"  success\n"])
    def test_nothing_to_show(self, bridge: PhoneBridge, body: bytes) -> None:
        assert bridge.open_reply(body, openid=FAN, mode="plain") is None

    def test_plain_text(self, bridge: PhoneBridge) -> None:
        shown = bridge.open_reply(text_reply().encode(), openid=FAN, mode="plain")
        assert shown == {"type": "text", "content": "您好"}

    def test_encrypted_news(self, bridge: PhoneBridge) -> None:
        articles = [Article("持仓", "3只证券", "http://p/1.png", "http://svc/h5/account/positions")]
        xml = NewsReply(articles).render(to_user=FAN, from_user=ACCOUNT, create_time=1)
        envelope = crypto().encrypt_reply(xml, timestamp="1700000000", nonce="42")
        shown = bridge.open_reply(envelope.encode(), openid=FAN, mode="safe")
        assert shown == {
            "type": "news",
            "articles": [
                {
                    "title": "持仓",
                    "description": "3只证券",
                    "pic_url": "http://p/1.png",
                    "url": "http://svc/h5/account/positions",
                }
            ],
        }

    def test_compatible_mode_accepts_a_plain_reply(self, bridge: PhoneBridge) -> None:
        shown = bridge.open_reply(text_reply().encode(), openid=FAN, mode="compatible")
        assert shown is not None

    @pytest.mark.parametrize(
        ("body", "mode", "reason"),
        [
            (text_reply().encode(), "safe", "encrypted"),
            (text_reply(to_user="oSomeoneElse").encode(), "plain", "ToUserName"),
            (
                text_reply().replace("您好", " ").encode(),
                "plain",
                "empty Content",
            ),
            (b"<xml><MsgType>text</MsgType>", "plain", "malformed"),
            (b'{"errcode": 0}', "plain", "malformed"),
        ],
    )
    def test_replies_wechat_would_refuse(
        self, bridge: PhoneBridge, body: bytes, mode: str, reason: str
    ) -> None:
        with pytest.raises(InvalidReplyError, match=reason):
            bridge.open_reply(body, openid=FAN, mode=mode)  # type: ignore[arg-type]

    def test_a_forged_msg_signature_is_refused(self, bridge: PhoneBridge) -> None:
        envelope = crypto().encrypt_reply(text_reply(), timestamp="1700000000", nonce="42")
        start = envelope.index("<MsgSignature><![CDATA[") + len("<MsgSignature><![CDATA[")
        forged = envelope[:start] + "0" * 40 + envelope[start + 40 :]
        with pytest.raises(InvalidReplyError, match="MsgSignature"):
            bridge.open_reply(forged.encode(), openid=FAN, mode="safe")


class TestOpenids:
    def test_new_openids_are_valid_and_distinct(self) -> None:
        made = {new_openid() for _ in range(50)}
        assert len(made) == 50
        assert all(len(o) == 28 and o.startswith("o") and is_openid(o) for o in made)

    @pytest.mark.parametrize("value", ["", "a b", "o" * 65, "<script>", "ö"])
    def test_is_openid_refuses(self, value: str) -> None:
        assert not is_openid(value)
