"""app/wechat/crypto.py against the shared vectors, wechatpy as an oracle, and fuzzing."""

from __future__ import annotations

import base64
import contextlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

from app.wechat.crypto import (
    DecryptError,
    InvalidAppIdError,
    MessageCrypto,
    WeChatCryptoError,
    decode_aes_key,
    msg_signature,
    url_signature,
    verify_url_signature,
)
from app.wechat.messages import TextMessage, parse_envelope, parse_inbound

SHARED = Path("/work/shared/wechat")
VECTORS: dict[str, Any] = json.loads((SHARED / "vectors.json").read_text())
SAMPLES = SHARED / "samples"
TOKEN = "brokerToken2024"
AES_KEY = "JbVZg98zFzY8OzY23qPGc0K3Zkny3ZSG3J4rdNlMgOG"
APP_ID = "wx1234567890abcdef"


def _ids(cases: list[dict[str, Any]]) -> list[str]:
    return [case["name"] for case in cases]


def _crypto(case: dict[str, Any]) -> MessageCrypto:
    return MessageCrypto(case["token"], case["encoding_aes_key"], case["appid"])


def _raw_encrypt(plain: bytes, key: bytes = decode_aes_key(AES_KEY)) -> str:
    """AES-CBC without any WeChat framing, to build malformed payloads."""
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


class TestUrlSignature:
    @pytest.mark.parametrize(
        "case", VECTORS["url_verification"], ids=_ids(VECTORS["url_verification"])
    )
    def test_matches_vector(self, case: dict[str, Any]) -> None:
        assert url_signature(case["token"], case["timestamp"], case["nonce"]) == case["signature"]

    @pytest.mark.parametrize(
        "case", VECTORS["url_verification"], ids=_ids(VECTORS["url_verification"])
    )
    def test_verifies_vector(self, case: dict[str, Any]) -> None:
        args = (case["token"], case["signature"], case["timestamp"], case["nonce"])
        assert verify_url_signature(*args)

    def test_rejects_a_changed_nonce(self) -> None:
        case = VECTORS["url_verification"][0]
        assert not verify_url_signature(case["token"], case["signature"], case["timestamp"], "1")

    @pytest.mark.parametrize("signature", ["", "A9F2509B93C12CE40F846372986034BE4C08BF24", "签名"])
    def test_rejects_wrong_case_empty_or_non_ascii_signature(self, signature: str) -> None:
        case = VECTORS["url_verification"][0]
        assert not verify_url_signature(case["token"], signature, case["timestamp"], case["nonce"])

    def test_lone_surrogate_in_query_is_a_mismatch_not_a_crash(self) -> None:
        assert not verify_url_signature(TOKEN, "\ud800", "1700000000", "\udfff")


class TestMsgSignature:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_inbound"], ids=_ids(VECTORS["encrypted_inbound"])
    )
    def test_matches_vector(self, case: dict[str, Any]) -> None:
        args = (case["token"], case["timestamp"], case["nonce"], case["Encrypt"])
        assert msg_signature(*args) == case["msg_signature"]

    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_inbound"], ids=_ids(VECTORS["encrypted_inbound"])
    )
    def test_verifies_vector(self, case: dict[str, Any]) -> None:
        args = (case["msg_signature"], case["timestamp"], case["nonce"], case["Encrypt"])
        assert _crypto(case).verify_msg_signature(*args)

    @pytest.mark.parametrize(
        "case",
        [c for c in VECTORS["negative"] if c["expect"] == "reject: signature mismatch"],
        ids=lambda c: c["name"],
    )
    def test_negative_vectors_are_rejected(self, case: dict[str, Any]) -> None:
        args = (case["msg_signature"], case["timestamp"], case["nonce"], case["Encrypt"])
        assert not _crypto(case).verify_msg_signature(*args)


class TestDecodeAesKey:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_inbound"], ids=_ids(VECTORS["encrypted_inbound"])
    )
    def test_lenient_decoding_matches_vector(self, case: dict[str, Any]) -> None:
        # Both vector keys end in a character whose spare bits are non-zero.
        assert decode_aes_key(case["encoding_aes_key"]).hex() == case["derived"]["aes_key_hex"]

    def test_accepts_key_with_padding_already_appended(self) -> None:
        assert decode_aes_key(AES_KEY + "=") == decode_aes_key(AES_KEY)

    @pytest.mark.parametrize(
        "key", ["", AES_KEY[:-1], AES_KEY + "A", AES_KEY[:-1] + "!", AES_KEY[:-1] + "密"]
    )
    def test_rejects_malformed_keys(self, key: str) -> None:
        with pytest.raises(WeChatCryptoError):
            decode_aes_key(key)

    def test_message_crypto_rejects_bad_key(self) -> None:
        with pytest.raises(WeChatCryptoError):
            MessageCrypto(TOKEN, "short", APP_ID)


class TestDecrypt:
    @pytest.mark.parametrize("case", VECTORS["decrypt"], ids=_ids(VECTORS["decrypt"]))
    def test_matches_vector(self, case: dict[str, Any]) -> None:
        plain = _crypto(case).decrypt(case["Encrypt"])
        assert plain == case["expected_plaintext_xml"].encode()

    def test_wrong_appid_vector_is_rejected(self) -> None:
        case = next(c for c in VECTORS["negative"] if c["name"] == "wrong_appid")
        with pytest.raises(InvalidAppIdError):
            _crypto(case).decrypt(case["Encrypt"])

    @pytest.mark.parametrize("encrypt", ["", "not base64!", "QUJD", "密文", "AAAA" * 3])
    def test_bad_base64_or_length_is_decrypt_error(self, encrypt: str) -> None:
        with pytest.raises(DecryptError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)

    @pytest.mark.parametrize("pad", [0, 33, 255])
    def test_pad_byte_out_of_range_is_decrypt_error(self, pad: int) -> None:
        encrypt = _raw_encrypt(b"x" * 63 + bytes([pad]))
        with pytest.raises(DecryptError, match="padding"):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)

    def test_inconsistent_pad_bytes_are_decrypt_error(self) -> None:
        encrypt = _raw_encrypt(b"x" * 60 + b"\x01\x04\x04\x04")
        with pytest.raises(DecryptError, match="padding"):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)

    def test_buffer_shorter_than_header_is_decrypt_error(self) -> None:
        encrypt = _raw_encrypt(b"r" * 10 + bytes([22]) * 22)
        with pytest.raises(DecryptError, match="header"):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)

    def test_length_field_beyond_plaintext_is_decrypt_error(self) -> None:
        body = b"r" * 16 + struct.pack(">I", 1000) + b"<xml/>" + APP_ID.encode()
        pad = 32 - len(body) % 32
        encrypt = _raw_encrypt(body + bytes([pad]) * pad)
        with pytest.raises(DecryptError, match="length"):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)

    def test_other_app_id_is_rejected(self) -> None:
        foreign = MessageCrypto(TOKEN, AES_KEY, "wxother0000000000").encrypt("<xml/>")
        with pytest.raises(InvalidAppIdError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(foreign)

    def test_other_key_is_rejected(self) -> None:
        other_key = VECTORS["encrypted_inbound"][3]["encoding_aes_key"]
        foreign = MessageCrypto(TOKEN, other_key, APP_ID).encrypt("<xml/>")
        with pytest.raises(WeChatCryptoError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(foreign)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=512))
    def test_arbitrary_base64_raises_only_our_error(self, data: bytes) -> None:
        with contextlib.suppress(WeChatCryptoError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(base64.b64encode(data).decode())

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=200))
    def test_arbitrary_text_raises_only_our_error(self, encrypt: str) -> None:
        with contextlib.suppress(WeChatCryptoError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).decrypt(encrypt)


class TestEncrypt:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_inbound"], ids=_ids(VECTORS["encrypted_inbound"])
    )
    def test_byte_for_byte_with_recorded_prefix(self, case: dict[str, Any]) -> None:
        prefix = bytes.fromhex(case["random_prefix_hex"])
        encrypt = _crypto(case).encrypt(case["plaintext_xml"], random_prefix=prefix)
        assert encrypt == case["Encrypt"]
        assert len(base64.b64decode(encrypt)) == case["derived"]["ciphertext_len"]

    def test_random_prefix_differs_between_calls_and_round_trips(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        first, second = crypto.encrypt("<xml>中文</xml>"), crypto.encrypt("<xml>中文</xml>")
        assert first != second
        assert crypto.decrypt(first) == crypto.decrypt(second) == "<xml>中文</xml>".encode()

    def test_bytes_plaintext_is_accepted(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        assert crypto.decrypt(crypto.encrypt(b"<xml/>")) == b"<xml/>"

    @pytest.mark.parametrize("prefix", [b"", b"x" * 15, b"x" * 17])
    def test_prefix_must_be_16_bytes(self, prefix: bytes) -> None:
        with pytest.raises(WeChatCryptoError):
            MessageCrypto(TOKEN, AES_KEY, APP_ID).encrypt("<xml/>", random_prefix=prefix)

    def test_wechatpy_decrypts_what_we_encrypt(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        plain = "<xml><Content><![CDATA[余额 😀]]></Content></xml>"
        body, signature = crypto.encrypt_inbound(
            plain, to_user="gh_0123456789ab", timestamp="1700000000", nonce="42"
        )
        oracle = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        assert oracle.decrypt_message(body, signature, "1700000000", "42") == plain

    def test_wechatpy_refuses_our_payload_for_another_app(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        body, signature = crypto.encrypt_inbound("<xml/>", to_user="gh", timestamp="1", nonce="2")
        with pytest.raises(InvalidAppIdException):
            WeChatCrypto(TOKEN, AES_KEY, "wxsomeoneelse").decrypt_message(body, signature, "1", "2")

    @settings(max_examples=100, deadline=None)
    @given(st.text(max_size=300), st.binary(min_size=16, max_size=16))
    def test_round_trip(self, plain: str, prefix: bytes) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        encoded = plain.encode("utf-8", "surrogatepass")
        assert crypto.decrypt(crypto.encrypt(encoded, random_prefix=prefix)) == encoded


class TestEncryptReply:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_reply"], ids=_ids(VECTORS["encrypted_reply"])
    )
    def test_envelope_matches_wechatpy_byte_for_byte(self, case: dict[str, Any]) -> None:
        envelope = _crypto(case).encrypt_reply(
            case["reply_plaintext_xml"],
            timestamp=case["timestamp"],
            nonce=case["nonce"],
            random_prefix=bytes.fromhex(case["random_prefix_hex"]),
        )
        assert envelope == case["envelope_xml_wechatpy"]

    def test_matches_shared_sample(self) -> None:
        case = VECTORS["encrypted_reply"][0]
        envelope = _crypto(case).encrypt_reply(
            case["reply_plaintext_xml"],
            timestamp=case["timestamp"],
            nonce=case["nonce"],
            random_prefix=bytes.fromhex(case["random_prefix_hex"]),
        )
        assert envelope == (SAMPLES / "encrypted_reply_envelope.xml").read_text().rstrip("\n")

    def test_envelope_verifies_and_decrypts(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        envelope = crypto.encrypt_reply("<xml>ok</xml>", timestamp="1700000009", nonce="n]]>1")
        fields = parse_envelope(envelope.encode()).fields
        assert fields["Nonce"] == "n]]>1"
        assert fields["TimeStamp"] == "1700000009"
        assert crypto.verify_msg_signature(
            fields["MsgSignature"], "1700000009", "n]]>1", fields["Encrypt"]
        )
        assert crypto.decrypt(fields["Encrypt"]) == b"<xml>ok</xml>"


class TestEncryptInbound:
    @pytest.mark.parametrize(
        "case", VECTORS["encrypted_inbound"], ids=_ids(VECTORS["encrypted_inbound"])
    )
    def test_safe_mode_body_matches_vector(self, case: dict[str, Any]) -> None:
        body, signature = _crypto(case).encrypt_inbound(
            case["plaintext_xml"],
            to_user="gh_0123456789ab",
            timestamp=case["timestamp"],
            nonce=case["nonce"],
            random_prefix=bytes.fromhex(case["random_prefix_hex"]),
        )
        assert (body, signature) == (case["inbound_body_xml"], case["msg_signature"])

    @pytest.mark.parametrize(
        ("compatible", "sample"),
        [(False, "encrypted_safe_mode.xml"), (True, "encrypted_compatible_mode.xml")],
    )
    def test_matches_shared_samples(self, compatible: bool, sample: str) -> None:
        case = VECTORS["encrypted_inbound"][0]
        body, _ = _crypto(case).encrypt_inbound(
            case["plaintext_xml"],
            to_user="gh_0123456789ab",
            timestamp=case["timestamp"],
            nonce=case["nonce"],
            compatible=compatible,
            random_prefix=bytes.fromhex(case["random_prefix_hex"]),
        )
        assert body == (SAMPLES / sample).read_text().rstrip("\n")

    @pytest.mark.parametrize("compatible", [False, True])
    def test_round_trip_through_envelope_and_parser(self, compatible: bool) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        plain = (SAMPLES / "text.xml").read_text()
        body, signature = crypto.encrypt_inbound(
            plain, to_user="gh_0123456789ab", timestamp="1", nonce="2", compatible=compatible
        )
        envelope = parse_envelope(body.encode())
        assert envelope.encrypt is not None
        assert envelope.to_user == "gh_0123456789ab"
        assert crypto.verify_msg_signature(signature, "1", "2", envelope.encrypt)
        message = parse_inbound(crypto.decrypt(envelope.encrypt))
        assert isinstance(message, TextMessage)
        assert message.content == "查询持仓 holdings"

    def test_compatible_mode_needs_an_xml_document(self) -> None:
        crypto = MessageCrypto(TOKEN, AES_KEY, APP_ID)
        with pytest.raises(WeChatCryptoError):
            crypto.encrypt_inbound("plain", to_user="gh", timestamp="1", nonce="2", compatible=True)
