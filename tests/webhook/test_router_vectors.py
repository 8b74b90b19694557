"""The shared crypto vectors and encrypted samples through GET/POST /wechat."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from app.wechat.crypto import MessageCrypto
from app.wechat.messages import EventMessage, parse_envelope, parse_inbound
from tests.conftest import WECHAT_SHARED, make_settings
from tests.webhook.signing import reply_fields

VECTORS: dict[str, Any] = json.loads((WECHAT_SHARED / "vectors.json").read_text())
SAMPLES = WECHAT_SHARED / "samples"
ENCRYPTED_SAMPLES = {
    name: (SAMPLES / name).read_bytes()
    for name in ("encrypted_safe_mode.xml", "encrypted_compatible_mode.xml")
}
# The vectors are dated 2023: the timestamp window is opened wide for these tests only.
WIDE_WINDOW = 10**10


def _settings_for(vector: dict[str, Any]) -> Any:
    return make_settings(
        wechat_token=vector["token"],
        wechat_encoding_aes_key=vector.get(
            "encoding_aes_key", "JbVZg98zFzY8OzY23qPGc0K3Zkny3ZSG3J4rdNlMgOG"
        ),
        wechat_app_id=vector.get("appid", "wx1234567890abcdef"),
        webhook_timestamp_window_s=WIDE_WINDOW,
    )


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Any:
    return _settings_for(request.param)


def _pairs(items: list[dict[str, Any]]) -> list[Any]:
    return [pytest.param(v, v, id=v["name"]) for v in items]


@pytest.mark.parametrize(
    ("settings", "vector"), _pairs(VECTORS["url_verification"]), indirect=["settings"]
)
async def test_url_verification_vector_echoes(
    client: httpx.AsyncClient, vector: dict[str, Any]
) -> None:
    params = {k: vector[k] for k in ("signature", "timestamp", "nonce", "echostr")}

    response = await client.get("/wechat", params=params)

    assert response.status_code == 200
    assert response.text == vector["expected_response_body"]
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    ("settings", "vector"), _pairs(VECTORS["encrypted_inbound"]), indirect=["settings"]
)
async def test_encrypted_inbound_vector_is_answered(
    client: httpx.AsyncClient, vector: dict[str, Any]
) -> None:
    response = await client.post(
        "/wechat", params=vector["query"], content=vector["inbound_body_xml"].encode()
    )

    assert response.status_code == 200
    original = parse_inbound(vector["plaintext_xml"].encode())
    if response.content == b"success":  # events nobody answers (job reports, ...)
        assert isinstance(original, EventMessage)
        assert original.event != "subscribe"
        return
    crypto = MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])
    reply = reply_fields(crypto.decrypt(parse_envelope(response.content).encrypt or ""))
    assert reply["ToUserName"] == original.from_user
    assert reply["FromUserName"] == original.to_user


@pytest.mark.parametrize(
    "settings", [VECTORS["encrypted_inbound"][0]], indirect=True, ids=["vector0"]
)
@pytest.mark.parametrize("name", sorted(ENCRYPTED_SAMPLES))
async def test_encrypted_sample_is_answered_encrypted(
    client: httpx.AsyncClient, settings: Any, name: str
) -> None:
    vector = VECTORS["encrypted_inbound"][0]

    response = await client.post("/wechat", params=vector["query"], content=ENCRYPTED_SAMPLES[name])

    assert response.status_code == 200
    crypto = MessageCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])
    reply = reply_fields(crypto.decrypt(parse_envelope(response.content).encrypt or ""))
    assert reply["ToUserName"] == "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
    assert reply["FromUserName"] == "gh_0123456789ab"


NEGATIVE_STATUS = {
    "wrong_msg_signature": 403,
    "signature_over_wrong_param": 403,
    "wrong_appid": 403,
}


@pytest.mark.parametrize(("settings", "vector"), _pairs(VECTORS["negative"]), indirect=["settings"])
async def test_negative_vector_is_refused(
    client: httpx.AsyncClient, vector: dict[str, Any]
) -> None:
    params = {**VECTORS["encrypted_inbound"][0]["query"], "msg_signature": vector["msg_signature"]}
    body = f"<xml><ToUserName>x</ToUserName><Encrypt>{vector['Encrypt']}</Encrypt></xml>"

    response = await client.post("/wechat", params=params, content=body.encode())

    assert response.status_code == NEGATIVE_STATUS[vector["name"]]
