"""Every shared sample (and tolerated variant) through POST /wechat in every mode."""

from __future__ import annotations

import httpx
import pytest

from app.wechat.messages import parse_inbound
from tests.conftest import make_settings
from tests.webhook.signing import MODES, SAMPLE_FILES, Mode, deliver, open_reply, post, reply_fields

WELCOME = "欢迎！测试欢迎语"
DEFAULT = "您好，这是测试默认回复。"
# Samples whose expected answer is a text reply; every other sample is answered `success`.
WELCOMED = {
    "event_subscribe.xml",
    "event_subscribe_qrscene.xml",
    "event_subscribe_empty_eventkey.xml",
}
DEFAULTED = {
    "text.xml",
    "image.xml",
    "voice.xml",
    "video.xml",
    "shortvideo.xml",
    "location.xml",
    "link.xml",
    "text_from_article_comment.xml",
    "voice_with_mediaid16k.xml",
    "voice_with_recognition.xml",
}


@pytest.fixture
def settings():
    return make_settings(webhook_welcome_text=WELCOME, webhook_default_reply=DEFAULT)


def test_the_sample_set_is_complete() -> None:
    assert len(SAMPLE_FILES) == 36
    names = {p.name for p in SAMPLE_FILES}
    assert names >= WELCOMED | DEFAULTED


SAMPLE_TEXTS = {p.name: p.read_text() for p in SAMPLE_FILES}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SAMPLE_TEXTS))
async def test_sample_gets_the_expected_reply(
    client: httpx.AsyncClient, name: str, mode: Mode
) -> None:
    text = SAMPLE_TEXTS[name]
    original = parse_inbound(text.encode())
    response = await post(client, deliver(text, mode))

    assert response.status_code == 200
    if name not in WELCOMED | DEFAULTED:
        assert response.content == b"success"
        return
    if mode != "plain":
        assert b"<Encrypt>" in response.content  # encrypted exactly when the request was
    reply = reply_fields(open_reply(response, mode))
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == original.from_user
    assert reply["FromUserName"] == original.to_user
    assert reply["Content"] == (WELCOME if name in WELCOMED else DEFAULT)
