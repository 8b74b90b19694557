"""Plays WeChat's part in webhook tests: signs query strings and encrypts bodies."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal
from xml.etree import ElementTree

import httpx

from app.wechat.crypto import MessageCrypto, msg_signature, url_signature
from tests.conftest import TEST_AES_KEY, TEST_APP_ID, TEST_TOKEN, WECHAT_SHARED

Mode = Literal["plain", "compatible", "safe"]
MODES: tuple[Mode, ...] = ("plain", "compatible", "safe")
SAMPLES = WECHAT_SHARED / "samples"
SAMPLE_FILES = sorted(
    [p for p in SAMPLES.glob("*.xml") if not p.name.startswith("encrypted_")]
    + list((SAMPLES / "variants").glob("*.xml"))
)
CRYPTO = MessageCrypto(TEST_TOKEN, TEST_AES_KEY, TEST_APP_ID)
NONCE = "1320562132"


def now_ts() -> str:
    return str(int(time.time()))


def signed_params(*, timestamp: str | None = None, nonce: str = NONCE) -> dict[str, str]:
    ts = timestamp or now_ts()
    return {"signature": url_signature(TEST_TOKEN, ts, nonce), "timestamp": ts, "nonce": nonce}


@dataclass
class Delivery:
    params: dict[str, str]
    body: bytes


def deliver(xml: str | bytes, mode: Mode = "plain", *, timestamp: str | None = None) -> Delivery:
    """The request WeChat would send for a plaintext message in a given mode."""
    text = xml.decode() if isinstance(xml, bytes) else xml
    params = signed_params(timestamp=timestamp)
    if mode == "plain":
        return Delivery(params, text.encode())
    body, signature = CRYPTO.encrypt_inbound(
        text,
        to_user="gh_0123456789ab",
        timestamp=params["timestamp"],
        nonce=params["nonce"],
        compatible=mode == "compatible",
    )
    return Delivery({**params, "encrypt_type": "aes", "msg_signature": signature}, body.encode())


def aes_params(encrypt: str, *, timestamp: str | None = None) -> dict[str, str]:
    params = signed_params(timestamp=timestamp)
    sig = msg_signature(TEST_TOKEN, params["timestamp"], params["nonce"], encrypt)
    return {**params, "encrypt_type": "aes", "msg_signature": sig}


async def post(client: httpx.AsyncClient, delivery: Delivery) -> httpx.Response:
    return await client.post("/wechat", params=delivery.params, content=delivery.body)


def open_reply(response: httpx.Response, mode: Mode) -> bytes:
    """The plain reply XML (decrypting the envelope in AES modes); b"success" as is."""
    if response.content == b"success" or mode == "plain":
        return response.content
    from app.wechat.messages import parse_envelope

    envelope = parse_envelope(response.content)
    assert envelope.encrypt
    fields = envelope.fields
    expected = msg_signature(
        TEST_TOKEN, str(fields["TimeStamp"]), str(fields["Nonce"]), envelope.encrypt
    )
    assert fields["MsgSignature"] == expected
    return CRYPTO.decrypt(envelope.encrypt)


def reply_fields(xml: bytes) -> dict[str, str]:
    """The top-level fields of a reply we produced (trusted XML, so ElementTree is fine)."""
    root = ElementTree.fromstring(xml)
    return {child.tag: child.text or "" for child in root}
