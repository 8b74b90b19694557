"""Authenticating a callback and opening its body (plaintext, compatible or safe mode).

Statuses (docs/webhook.md): missing or wrong signature/msg_signature, a timestamp outside the
window, `encrypt_type=aes` without `msg_signature` and an app id mismatch are 403; an unknown
`encrypt_type`, `msg_signature` without `encrypt_type=aes`, bad XML and undecryptable payloads
are 400.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from app.core.time import Clock
from app.webhook.errors import (
    AppIdMismatchError,
    MalformedRequestError,
    SignatureRejectedError,
    StaleTimestampError,
)
from app.wechat.crypto import (
    InvalidAppIdError,
    MessageCrypto,
    WeChatCryptoError,
    verify_url_signature,
)
from app.wechat.messages import InboundMessage, InboundMessageError, parse_envelope, parse_inbound

log = logging.getLogger(__name__)

_MAX_PARAM = 128


@dataclass(frozen=True, slots=True)
class Credentials:
    """The authenticated query of one callback."""

    timestamp: str
    nonce: str
    encrypted: bool
    msg_signature: str = ""


class RequestVerifier:
    """Checks signatures and the timestamp window, decrypts and parses bodies."""

    def __init__(
        self, *, token: str, crypto: MessageCrypto | None, window_s: int, clock: Clock
    ) -> None:
        self._token = token
        self._crypto = crypto
        self._window_s = window_s
        self._clock = clock

    def check_query(self, params: Mapping[str, str]) -> Credentials:
        """Signature, timestamp window and mode parameters; raises before any body is read."""
        signature = params.get("signature", "")
        timestamp = params.get("timestamp", "")
        nonce = params.get("nonce", "")
        if (
            not (signature and timestamp and nonce)
            or max(len(signature), len(timestamp), len(nonce)) > _MAX_PARAM
        ):
            raise SignatureRejectedError("signature, timestamp and nonce are required")
        if not verify_url_signature(self._token, signature, timestamp, nonce):
            raise SignatureRejectedError("signature does not match")
        self._check_window(timestamp)
        return self._mode(params, timestamp, nonce)

    def _check_window(self, timestamp: str) -> None:
        if not timestamp.isascii() or not timestamp.isdigit():
            raise StaleTimestampError("timestamp is not unix seconds")
        if abs(self._clock.timestamp() - int(timestamp)) > self._window_s:
            raise StaleTimestampError("timestamp outside the accepted window")

    def _mode(self, params: Mapping[str, str], timestamp: str, nonce: str) -> Credentials:
        encrypt_type = params.get("encrypt_type", "raw").strip().lower() or "raw"
        msg_signature = params.get("msg_signature", "")
        if encrypt_type == "raw":
            if msg_signature:
                raise MalformedRequestError("msg_signature given without encrypt_type=aes")
            return Credentials(timestamp, nonce, encrypted=False)
        if encrypt_type != "aes":
            raise MalformedRequestError("encrypt_type must be raw or aes")
        if not msg_signature or len(msg_signature) > _MAX_PARAM:
            raise SignatureRejectedError("encrypt_type=aes needs msg_signature")
        return Credentials(timestamp, nonce, encrypted=True, msg_signature=msg_signature)

    def check_echo(self, params: Mapping[str, str]) -> str:
        """URL verification (GET): the echostr to send back."""
        self.check_query(
            {k: v for k, v in params.items() if k in ("signature", "timestamp", "nonce")}
        )
        echostr = params.get("echostr", "")
        if not echostr:
            raise MalformedRequestError("echostr is required")
        return echostr

    def open(self, credentials: Credentials, body: bytes) -> InboundMessage:
        """The typed message in a body; decrypts (and checks msg_signature) in AES modes."""
        if not body.strip():
            raise MalformedRequestError("empty body")
        plain = self._decrypt(credentials, body) if credentials.encrypted else body
        try:
            return parse_inbound(plain)
        except InboundMessageError as exc:
            raise MalformedRequestError(f"not a WeChat message: {exc}") from exc

    def _decrypt(self, credentials: Credentials, body: bytes) -> bytes:
        if self._crypto is None:
            log.error("webhook.aes_not_configured")
            raise SignatureRejectedError("encrypted callbacks are not configured")
        try:
            envelope = parse_envelope(body)
        except InboundMessageError as exc:
            raise MalformedRequestError(f"bad envelope: {exc}") from exc
        if not envelope.encrypt:
            raise MalformedRequestError("encrypt_type=aes but the body has no Encrypt")
        ok = self._crypto.verify_msg_signature(
            credentials.msg_signature, credentials.timestamp, credentials.nonce, envelope.encrypt
        )
        if not ok:
            raise SignatureRejectedError("msg_signature does not match")
        try:
            return self._crypto.decrypt(envelope.encrypt)
        except InvalidAppIdError as exc:
            raise AppIdMismatchError("payload was encrypted for another app id") from exc
        except WeChatCryptoError as exc:
            raise MalformedRequestError(f"cannot decrypt: {exc}") from exc

    def encrypt_reply(self, reply_xml: str, *, timestamp: str, nonce: str) -> str:
        if self._crypto is None:  # unreachable: an encrypted request was decrypted first
            raise SignatureRejectedError("encrypted callbacks are not configured")
        return self._crypto.encrypt_reply(reply_xml, timestamp=timestamp, nonce=nonce)
