"""Hostile corpus: forged, replayed, oversized and malformed callbacks get an exact 4xx.

None of them may reach a handler (a spy middleware wraps every route), none yields a 5xx.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import httpx
import pytest
from fastapi import FastAPI

from app.wechat.crypto import MessageCrypto, url_signature
from tests.conftest import TEST_AES_KEY, TEST_TOKEN, make_settings
from tests.webhook.signing import (
    CRYPTO,
    NONCE,
    aes_params,
    deliver,
    now_ts,
    signed_params,
)

CAP = 4096
FROM_USER = "<FromUserName><![CDATA[oAbCdEfGhIjKlMnOpQrStUvWxYz0]]></FromUserName>"
TEXT = (
    "<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>"
    "<FromUserName><![CDATA[oAbCdEfGhIjKlMnOpQrStUvWxYz0]]></FromUserName>"
    "<CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>"
    "<Content><![CDATA[hello]]></Content><MsgId>24123456789012345</MsgId></xml>"
)
HEAD = (
    "<ToUserName>gh_0123456789ab</ToUserName><FromUserName>oAbCdEfGhIjKlMnOpQrStUvWxYz0"
    "</FromUserName><CreateTime>1700000000</CreateTime>"
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    f"<xml>{HEAD}<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f"<xml>{HEAD}<MsgType>text</MsgType><Content>&lol3;</Content><MsgId>1</MsgId></xml>"
)
DTD_ONLY = f'<!DOCTYPE xml SYSTEM "http://evil.example/x.dtd"><xml>{HEAD}<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>'
UNDECLARED_ENTITY = (
    f"<xml>{HEAD}<MsgType>text</MsgType><Content>&foo;</Content><MsgId>1</MsgId></xml>"
)
OTHER_APP = MessageCrypto(TEST_TOKEN, TEST_AES_KEY, "wx9999999999999999")
OTHER_KEY = MessageCrypto(TEST_TOKEN, "A" * 42 + "E", "wx1234567890abcdef")
PREFIX = b"0123456789abcdef"


@dataclass
class Case:
    name: str
    status: int
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    body: bytes | None = b""
    headers: dict[str, str] = field(default_factory=dict)
    chunked: bool = False


def _plain(name: str, status: int, body: str | bytes, *, chunked: bool = False) -> Case:
    raw = body.encode() if isinstance(body, str) else body
    return Case(name, status, params=signed_params(), body=raw, chunked=chunked)


def _aes_body(encrypt: str) -> bytes:
    return (
        f"<xml><ToUserName>gh_0123456789ab</ToUserName><Encrypt>{encrypt}</Encrypt></xml>".encode()
    )


def _aes(name: str, status: int, encrypt: str, **overrides: str) -> Case:
    return Case(name, status, params={**aes_params(encrypt), **overrides}, body=_aes_body(encrypt))


def _safe_case(name: str, status: int, plain: str, crypto: MessageCrypto = CRYPTO) -> Case:
    return _aes(name, status, crypto.encrypt(plain, random_prefix=PREFIX))


def _stale(delta: int) -> dict[str, str]:
    return signed_params(timestamp=str(int(now_ts()) + delta))


def _cases() -> list[Case]:
    good = deliver(TEXT, "safe")
    other = deliver(TEXT.replace("hello", "other").replace("2345</MsgId>", "9999</MsgId>"), "safe")
    ts = now_ts()
    sig = url_signature(TEST_TOKEN, ts, NONCE)
    bad_sig = {"signature": "0" * 40, "timestamp": ts, "nonce": NONCE}
    encrypt = CRYPTO.encrypt(TEXT, random_prefix=PREFIX)
    return [
        # --- GET verification ---
        Case("get_without_params", 403, "GET", {"echostr": "abc"}, None),
        Case("get_bad_signature", 403, "GET", {**bad_sig, "echostr": "abc"}, None),
        Case("get_missing_echostr", 400, "GET", signed_params(), None),
        Case("get_stale_timestamp", 403, "GET", {**_stale(-1000), "echostr": "abc"}, None),
        # --- signature and timestamp ---
        Case("no_query_at_all", 403, body=TEXT.encode()),
        Case(
            "missing_signature", 403, params={"timestamp": ts, "nonce": NONCE}, body=TEXT.encode()
        ),
        Case("missing_nonce", 403, params={"signature": sig, "timestamp": ts}, body=TEXT.encode()),
        Case(
            "missing_timestamp", 403, params={"signature": sig, "nonce": NONCE}, body=TEXT.encode()
        ),
        Case("wrong_signature", 403, params=bad_sig, body=TEXT.encode()),
        Case(
            "uppercase_signature",
            403,
            params={**signed_params(), "signature": sig.upper()},
            body=TEXT.encode(),
        ),
        Case(
            "signature_of_other_nonce",
            403,
            params={"signature": sig, "timestamp": ts, "nonce": "999"},
            body=TEXT.encode(),
        ),
        Case(
            "huge_signature",
            403,
            params={"signature": "a" * 5000, "timestamp": ts, "nonce": NONCE},
            body=TEXT.encode(),
        ),
        Case(
            "non_ascii_nonce",
            403,
            params={"signature": sig, "timestamp": ts, "nonce": "随机"},
            body=TEXT.encode(),
        ),
        Case("stale_timestamp", 403, params=_stale(-1000), body=TEXT.encode()),
        Case("future_timestamp", 403, params=_stale(1000), body=TEXT.encode()),
        Case(
            "non_integer_timestamp", 403, params=signed_params(timestamp="17e8"), body=TEXT.encode()
        ),
        # --- size ---
        _plain("declared_body_over_cap", 413, TEXT.encode() + b" " * CAP),
        _plain("streamed_body_over_cap", 413, b" " * (CAP + 10), chunked=True),
        # --- malformed XML (plaintext) ---
        _plain("empty_body", 400, b""),
        _plain("whitespace_body", 400, b"   \n"),
        _plain("json_body", 400, b'{"MsgType": "text"}'),
        _plain("dtd_external", 400, DTD_ONLY),
        _plain("xxe", 400, XXE),
        _plain("billion_laughs", 400, LAUGHS),
        _plain("undeclared_entity", 400, UNDECLARED_ENTITY),
        _plain("invalid_utf8", 400, TEXT.encode().replace(b"hello", b"\xff\xfe\xc3")),
        _plain("truncated_xml", 400, TEXT[: len(TEXT) // 2]),
        _plain("missing_msgtype", 400, TEXT.replace("<MsgType><![CDATA[text]]></MsgType>", "")),
        _plain("missing_from_user", 400, TEXT.replace(FROM_USER, "")),
        _plain("non_integer_createtime", 400, TEXT.replace("1700000000", "yesterday")),
        _plain("text_without_msgid", 400, TEXT.replace("<MsgId>24123456789012345</MsgId>", "")),
        _plain("duplicate_from_user", 400, TEXT.replace("</xml>", f"{FROM_USER}</xml>")),
        _plain(
            "too_deep", 400, f"<xml>{HEAD}<MsgType>event</MsgType>{'<a>' * 50}{'</a>' * 50}</xml>"
        ),
        Case("safe_envelope_in_plain_mode", 400, params=signed_params(), body=good.body),
        # --- mode parameters ---
        Case(
            "msg_signature_without_aes",
            400,
            params={**signed_params(), "msg_signature": good.params["msg_signature"]},
            body=TEXT.encode(),
        ),
        Case(
            "unknown_encrypt_type",
            400,
            params={**good.params, "encrypt_type": "rsa"},
            body=good.body,
        ),
        Case(
            "aes_without_msg_signature",
            403,
            params={k: v for k, v in good.params.items() if k != "msg_signature"},
            body=good.body,
        ),
        # --- AES ---
        Case(
            "forged_msg_signature",
            403,
            params={**good.params, "msg_signature": "f" * 40},
            body=good.body,
        ),
        Case("replayed_body_other_msg_signature", 403, params=other.params, body=good.body),
        Case(
            "url_signature_as_msg_signature",
            403,
            params={**good.params, "msg_signature": good.params["signature"]},
            body=good.body,
        ),
        _aes("aes_stale_timestamp", 403, encrypt, **_stale(-1000)),
        _safe_case("appid_mismatch", 403, TEXT, OTHER_APP),
        _safe_case("other_aes_key", 400, TEXT, OTHER_KEY),
        Case("aes_without_encrypt_element", 400, params={**good.params}, body=TEXT.encode()),
        _aes("encrypt_not_base64", 400, "!!!not-base64!!!"),
        _aes("encrypt_wrong_block_size", 400, base64.b64encode(b"x" * 20).decode()),
        _aes("encrypt_empty", 400, ""),
        _safe_case("decrypted_not_xml", 400, "just some text"),
        _safe_case("decrypted_xxe", 400, XXE),
        _safe_case("decrypted_missing_fields", 400, "<xml><MsgType>text</MsgType></xml>"),
        Case("envelope_is_truncated", 400, params={**good.params}, body=good.body[:40]),
    ]


# Cases are rebuilt in each test: their timestamps must be fresh when the request is made.
CASE_NAMES = [c.name for c in _cases()]


def test_the_corpus_is_big_enough() -> None:
    assert len(CASE_NAMES) >= 40
    assert len(set(CASE_NAMES)) == len(CASE_NAMES)


@pytest.fixture
def settings():
    return make_settings(webhook_max_body_bytes=CAP)


@pytest.fixture
async def spy(app: FastAPI) -> list[str]:
    calls: list[str] = []

    async def record_call(ctx, msg, call_next):  # type: ignore[no-untyped-def]
        calls.append(msg.msg_type)
        return await call_next(ctx, msg)

    app.state.wechat_router.use(record_call)
    return calls


@pytest.mark.parametrize("name", CASE_NAMES)
async def test_hostile_request_is_refused_before_any_handler(
    app: FastAPI, client: httpx.AsyncClient, spy: list[str], name: str
) -> None:
    case = next(c for c in _cases() if c.name == name)
    content: bytes | Callable[[], AsyncIterator[bytes]] | None = case.body
    if case.chunked and case.body is not None:
        data = case.body

        async def chunks() -> AsyncIterator[bytes]:
            for i in range(0, len(data), 1024):
                yield data[i : i + 1024]

        content = chunks()  # type: ignore[assignment]
    response = await client.request(
        case.method, "/wechat", params=case.params, content=content, headers=case.headers
    )

    assert response.status_code == case.status, response.text
    assert response.json()["error"].startswith("webhook.")
    assert spy == []
    assert app.state.webhook.recorder.pending == 0


async def test_the_same_request_signed_properly_is_answered(
    client: httpx.AsyncClient, spy: list[str]
) -> None:
    response = await client.post("/wechat", params=signed_params(), content=TEXT.encode())

    assert response.status_code == 200
    assert spy == ["text"]
