"""Sign (and encrypt) XML the way WeChat POSTs it to a service's callback URL (FACTS §1, §2)."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from wechatpy.crypto import PrpCrypto

from app.core.security import sha1_signature
from app.simulator.config import CallbackMode


def cdata(value: str) -> str:
    """CDATA section that survives a `]]>` inside the value."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def event_xml(fields: list[tuple[str, str | int]]) -> str:
    """`<xml>` with text in CDATA and integers bare, in the given order."""
    parts = []
    for name, value in fields:
        text = str(value) if isinstance(value, int) else cdata(value)
        parts.append(f"<{name}>{text}</{name}>")
    return "<xml>" + "".join(parts) + "</xml>"


class _FixedPrefix(PrpCrypto):  # type: ignore[misc]
    def __init__(self, key: bytes, prefix: str) -> None:
        super().__init__(key)
        self._prefix = prefix

    def get_random_string(self) -> str:
        return self._prefix


@dataclass(frozen=True)
class SignedPost:
    params: dict[str, str]
    body: str


class CallbackSigner:
    """What WeChat adds to a push: signature query params and, in AES modes, `<Encrypt>`."""

    def __init__(self, *, token: str, encoding_aes_key: str, app_id: str) -> None:
        self.token = token
        self.app_id = app_id
        self._key = base64.b64decode(encoding_aes_key + "=")

    def encrypt(self, plain_xml: str, *, random_prefix: str | None = None) -> str:
        """base64 AES-CBC of prefix ‖ length ‖ xml ‖ appid; a fixed prefix reproduces vectors."""
        crypto = (
            PrpCrypto(self._key)
            if random_prefix is None
            else _FixedPrefix(self._key, random_prefix)
        )
        encrypted: bytes = crypto.encrypt(plain_xml, self.app_id)
        return encrypted.decode("ascii")

    def sign(
        self,
        plain_xml: str,
        *,
        to_user: str,
        openid: str,
        mode: CallbackMode,
        timestamp: str,
        nonce: str | None = None,
    ) -> SignedPost:
        nonce = nonce or str(secrets.randbelow(10**10))
        params = {
            "signature": sha1_signature(self.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": openid,
        }
        if mode == "plain":
            return SignedPost(params, plain_xml)
        encrypt = self.encrypt(plain_xml)
        params["encrypt_type"] = "aes"
        params["msg_signature"] = sha1_signature(self.token, timestamp, nonce, encrypt)
        if mode == "safe":
            body = (
                f"<xml><ToUserName>{cdata(to_user)}</ToUserName>"
                f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>"
            )
        else:  # compatible: the plain fields and <Encrypt> side by side
            body = plain_xml.replace("</xml>", f"<Encrypt>{cdata(encrypt)}</Encrypt></xml>", 1)
        return SignedPost(params, body)
