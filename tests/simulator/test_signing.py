"""Signing and encryption of pushes, checked against the shared WeChat vectors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import xmltodict
from hypothesis import given
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import check_signature

from app.simulator.signing import CallbackSigner, cdata, event_xml
from tests.conftest import WECHAT_SHARED

VECTORS: dict[str, Any] = json.loads((WECHAT_SHARED / "vectors.json").read_text())


@pytest.mark.parametrize("vector", VECTORS["encrypted_inbound"], ids=lambda v: v["name"])
def test_encrypt_reproduces_the_shared_vectors(vector: dict[str, Any]) -> None:
    signer = CallbackSigner(
        token=vector["token"], encoding_aes_key=vector["encoding_aes_key"], app_id=vector["appid"]
    )
    prefix = bytes.fromhex(vector["random_prefix_hex"]).decode("ascii")
    encrypt = signer.encrypt(vector["plaintext_xml"], random_prefix=prefix)
    assert encrypt == vector["Encrypt"]


@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_signed_post_verifies_with_wechatpy(mode: str) -> None:
    vector = VECTORS["encrypted_inbound"][0]
    signer = CallbackSigner(
        token=vector["token"], encoding_aes_key=vector["encoding_aes_key"], app_id=vector["appid"]
    )
    xml = vector["plaintext_xml"]
    post = signer.sign(
        xml,
        to_user="gh_0123456789ab",
        openid="o1",
        mode=mode,
        timestamp="1700000000",  # type: ignore[arg-type]
    )
    q = post.params
    check_signature(vector["token"], q["signature"], q["timestamp"], q["nonce"])
    if mode == "plain":
        assert post.body == xml
        return
    crypto = WeChatCrypto(vector["token"], vector["encoding_aes_key"], vector["appid"])
    assert crypto.decrypt_message(post.body, q["msg_signature"], q["timestamp"], q["nonce"]) == xml


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=60))
def test_cdata_round_trips_any_text(value: str) -> None:
    xml = event_xml([("Content", value), ("CreateTime", 1)])
    parsed = xmltodict.parse(xml, strip_whitespace=False)["xml"]
    assert (parsed["Content"] or "") == value
    assert parsed["CreateTime"] == "1"


def test_cdata_splits_the_terminator() -> None:
    assert cdata("a]]>b") == "<![CDATA[a]]]]><![CDATA[>b]]>"
