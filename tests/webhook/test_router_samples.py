"""Every shared sample (and tolerated variant) through POST /wechat in every mode.

Feature packages register their own routes (menu keys, keywords, scans), so a sample may be
answered by any of them: each answer must be `success` or a well-formed passive reply addressed
back to the sender, encrypted exactly when the request was. The built-in expectations that no
feature overrides are pinned separately.
"""

from __future__ import annotations

import httpx
import pytest

from app.wechat.messages import parse_inbound
from tests.conftest import make_settings
from tests.webhook.signing import MODES, SAMPLE_FILES, Mode, deliver, open_reply, post, reply_fields

WELCOME = "欢迎！测试欢迎语"
DEFAULT = "您好，这是测试默认回复。"
REPLY_TYPES = {"text", "news", "image", "voice", "video", "music", "transfer_customer_service"}
SAMPLE_TEXTS = {p.name: p.read_text() for p in SAMPLE_FILES}
# Answers of the built-in content handlers that no feature route claims.
PINNED = {
    "event_subscribe.xml": WELCOME,
    "event_subscribe_empty_eventkey.xml": WELCOME,
    "image.xml": DEFAULT,
    "voice.xml": DEFAULT,
    "video.xml": DEFAULT,
    "shortvideo.xml": DEFAULT,
    "link.xml": DEFAULT,
    "event_unknown_future.xml": None,  # None: `success`
    "event_unsubscribe.xml": None,
    "event_templatesendjobfinish_success.xml": None,
    "event_masssendjobfinish.xml": None,
}


@pytest.fixture
def settings():
    return make_settings(webhook_welcome_text=WELCOME, webhook_default_reply=DEFAULT)


def test_the_sample_set_is_complete() -> None:
    assert len(SAMPLE_FILES) == 36
    assert set(PINNED) <= set(SAMPLE_TEXTS)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(SAMPLE_TEXTS))
async def test_sample_gets_a_well_formed_answer(
    client: httpx.AsyncClient, name: str, mode: Mode
) -> None:
    text = SAMPLE_TEXTS[name]
    original = parse_inbound(text.encode())

    response = await post(client, deliver(text, mode))

    assert response.status_code == 200
    if response.content == b"success":
        assert PINNED.get(name) is None
        return
    assert (b"<Encrypt>" in response.content) == (mode != "plain")
    reply = reply_fields(open_reply(response, mode))
    assert reply["MsgType"] in REPLY_TYPES
    assert reply["ToUserName"] == original.from_user
    assert reply["FromUserName"] == original.to_user
    if name in PINNED:
        assert reply["Content"] == PINNED[name]
