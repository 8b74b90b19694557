"""RequestVerifier: property tests that hostile bodies and queries only raise our 4xx errors."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.errors import AppError
from app.core.time import SystemClock
from app.webhook.errors import SignatureRejectedError
from app.webhook.verify import Credentials, RequestVerifier
from tests.conftest import TEST_TOKEN
from tests.webhook.signing import CRYPTO, signed_params

VERIFIER = RequestVerifier(token=TEST_TOKEN, crypto=CRYPTO, window_s=300, clock=SystemClock())
PLAIN = Credentials(timestamp="1", nonce="1", encrypted=False)
XML_PIECES = st.sampled_from(
    [
        "<xml>",
        "</xml>",
        "<ToUserName>g</ToUserName>",
        "<FromUserName>o</FromUserName>",
        "<CreateTime>1700000000</CreateTime>",
        "<CreateTime>x</CreateTime>",
        "<MsgType>text</MsgType>",
        "<MsgType>event</MsgType>",
        "<Event>subscribe</Event>",
        "<Content>hi</Content>",
        "<MsgId>1</MsgId>",
        "<MsgId>-9</MsgId>",
        "<![CDATA[",
        "]]>",
        "&amp;",
        "&x;",
        "<!DOCTYPE x>",
        "<Encrypt>",
        "</Encrypt>",
        "<a>",
        "</a>",
    ]
)


def _only_our_errors(call):  # type: ignore[no-untyped-def]
    """Anything but our 400/403 errors (a 5xx in the endpoint) fails the property."""
    status = 200
    try:
        call()
    except AppError as exc:
        status = exc.status
    assert status in (200, 400, 403)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_raise_only_a_4xx(body: bytes) -> None:
    _only_our_errors(lambda: VERIFIER.open(PLAIN, body))


@settings(max_examples=300, deadline=None)
@given(st.lists(XML_PIECES, max_size=30).map("".join))
def test_xml_like_noise_raises_only_a_4xx(text: str) -> None:
    _only_our_errors(lambda: VERIFIER.open(PLAIN, text.encode()))


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_encrypted_plaintext_raises_only_a_4xx(plain: str) -> None:
    ts = str(int(time.time()))
    body, signature = CRYPTO.encrypt_inbound(plain or "x", to_user="g", timestamp=ts, nonce="1")
    creds = Credentials(timestamp=ts, nonce="1", encrypted=True, msg_signature=signature)
    _only_our_errors(lambda: VERIFIER.open(creds, body.encode()))


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["signature", "timestamp", "nonce", "encrypt_type", "msg_signature", "echostr"]
        ),
        st.text(max_size=60),
    )
)
def test_any_query_raises_only_a_4xx(params: dict[str, str]) -> None:
    _only_our_errors(lambda: VERIFIER.check_query(params))
    _only_our_errors(lambda: VERIFIER.check_echo(params))


def test_a_signed_query_passes_and_reports_the_mode() -> None:
    plain = VERIFIER.check_query(signed_params())
    aes = VERIFIER.check_query({**signed_params(), "encrypt_type": "aes", "msg_signature": "ab"})

    assert plain.encrypted is False
    assert aes.encrypted is True
    assert aes.msg_signature == "ab"


def test_without_a_usable_aes_key_encrypted_requests_are_refused() -> None:
    verifier = RequestVerifier(token=TEST_TOKEN, crypto=None, window_s=300, clock=SystemClock())
    creds = Credentials(timestamp="1", nonce="1", encrypted=True, msg_signature="x")
    with pytest.raises(SignatureRejectedError):
        verifier.open(creds, b"<xml><Encrypt>abc</Encrypt></xml>")
