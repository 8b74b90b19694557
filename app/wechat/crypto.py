"""WeChat callback signatures and AES message crypto (FACTS.md §1-2), built on `cryptography`."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from xml.sax.saxutils import escape

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from app.wechat.replies import cdata

# WeChat pads to the 32-byte AES key length, not to the 16-byte AES block (FACTS.md §2).
PAD_BLOCK = 32
RANDOM_PREFIX_LEN = 16
_HEADER_LEN = RANDOM_PREFIX_LEN + 4
_LENGTH = struct.Struct(">I")


class WeChatCryptoError(ValueError):
    """Anything wrong with a signature, a key or an encrypted payload."""


class InvalidSignatureError(WeChatCryptoError):
    """`signature` or `msg_signature` does not match."""


class InvalidAppIdError(WeChatCryptoError):
    """The payload decrypted, but it was encrypted for another app id."""


class DecryptError(WeChatCryptoError):
    """Bad base64, bad length, bad padding or a truncated plaintext layout."""


def _sha1_sorted(*parts: str) -> str:
    # surrogatepass: a hostile query string must give a mismatch, never a UnicodeEncodeError.
    joined = "".join(sorted(parts)).encode("utf-8", "surrogatepass")
    return hashlib.sha1(joined).hexdigest()  # noqa: S324 - WeChat's protocol, not our choice


def _equals(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode("ascii"), given.encode("utf-8", "surrogatepass"))


def url_signature(token: str, timestamp: str, nonce: str) -> str:
    """`signature` of a callback: sha1 over sorted [token, timestamp, nonce], lowercase hex."""
    return _sha1_sorted(token, timestamp, nonce)


def verify_url_signature(token: str, signature: str, timestamp: str, nonce: str) -> bool:
    """Constant-time check of the `signature` query parameter."""
    return _equals(url_signature(token, timestamp, nonce), signature)


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    """`msg_signature` of an encrypted payload: sha1 over sorted [token, ts, nonce, Encrypt]."""
    return _sha1_sorted(token, timestamp, nonce, encrypt)


_msg_signature = msg_signature  # MessageCrypto methods take a parameter of the same name


def decode_aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key behind a 43-char EncodingAESKey.

    Lenient on purpose: the last character's two spare bits are often non-zero, and a canonical
    base64 decoder would reject such keys (FACTS.md §2).
    """
    stripped = encoding_aes_key.strip().rstrip("=")
    if len(stripped) != 43:
        raise WeChatCryptoError("EncodingAESKey must be 43 base64 characters")
    try:
        key = base64.b64decode(stripped + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WeChatCryptoError("EncodingAESKey is not valid base64") from exc
    if len(key) != 32:  # pragma: no cover - 43 valid chars always give 32 bytes
        raise WeChatCryptoError("EncodingAESKey must decode to 32 bytes")
    return key


def _pkcs7_pad(data: bytes) -> bytes:
    pad = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([pad]) * pad


def _pkcs7_unpad(data: bytes) -> bytes:
    pad = data[-1]
    if not 1 <= pad <= PAD_BLOCK or data[-pad:] != bytes([pad]) * pad:
        raise DecryptError("bad padding")
    return data[:-pad]


class MessageCrypto:
    """Encrypts and decrypts callback payloads for one app (token + EncodingAESKey + app id)."""

    __slots__ = ("_app_id_bytes", "_cipher", "_token", "app_id")

    def __init__(self, token: str, encoding_aes_key: str, app_id: str) -> None:
        key = decode_aes_key(encoding_aes_key)
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self._token = token
        self.app_id = app_id
        self._app_id_bytes = app_id.encode("utf-8")

    def verify_msg_signature(
        self, msg_signature: str, timestamp: str, nonce: str, encrypt: str
    ) -> bool:
        """Constant-time check of `msg_signature` over the Encrypt value."""
        return _equals(_msg_signature(self._token, timestamp, nonce, encrypt), msg_signature)

    def decrypt(self, encrypt: str) -> bytes:
        """Plaintext XML bytes of an `Encrypt` value; checks padding, layout and the app id."""
        try:
            ciphertext = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise DecryptError("Encrypt is not valid base64") from exc
        if not ciphertext or len(ciphertext) % 16:
            raise DecryptError("ciphertext length is not a multiple of the AES block")
        decryptor = self._cipher.decryptor()
        plain = _pkcs7_unpad(decryptor.update(ciphertext) + decryptor.finalize())
        if len(plain) < _HEADER_LEN:
            raise DecryptError("plaintext shorter than its header")
        (length,) = _LENGTH.unpack_from(plain, RANDOM_PREFIX_LEN)
        end = _HEADER_LEN + length
        if end > len(plain):
            raise DecryptError("message length exceeds the plaintext")
        if not hmac.compare_digest(plain[end:], self._app_id_bytes):
            raise InvalidAppIdError("payload was encrypted for another app id")
        return plain[_HEADER_LEN:end]

    def encrypt(self, plaintext: str | bytes, *, random_prefix: bytes | None = None) -> str:
        """Base64 `Encrypt` value of a message; `random_prefix` (16 bytes) only for tests."""
        if random_prefix is None:
            random_prefix = secrets.token_bytes(RANDOM_PREFIX_LEN)
        elif len(random_prefix) != RANDOM_PREFIX_LEN:
            raise WeChatCryptoError("random prefix must be 16 bytes")
        msg = plaintext.encode("utf-8") if isinstance(plaintext, str) else plaintext
        body = random_prefix + _LENGTH.pack(len(msg)) + msg + self._app_id_bytes
        encryptor = self._cipher.encryptor()
        ciphertext = encryptor.update(_pkcs7_pad(body)) + encryptor.finalize()
        return base64.b64encode(ciphertext).decode("ascii")

    def encrypt_reply(
        self,
        reply_xml: str,
        *,
        timestamp: str,
        nonce: str,
        random_prefix: bytes | None = None,
    ) -> str:
        """The encrypted passive-reply envelope, in wechatpy's exact layout."""
        encrypt = self.encrypt(reply_xml, random_prefix=random_prefix)
        signature = _msg_signature(self._token, timestamp, nonce, encrypt)
        return (
            f"<xml>\n<Encrypt>{cdata(encrypt)}</Encrypt>\n"
            f"<MsgSignature>{cdata(signature)}</MsgSignature>\n"
            f"<TimeStamp>{escape(timestamp)}</TimeStamp>\n"
            f"<Nonce>{cdata(nonce)}</Nonce>\n</xml>"
        )

    def encrypt_inbound(
        self,
        plain_xml: str,
        *,
        to_user: str,
        timestamp: str,
        nonce: str,
        compatible: bool = False,
        random_prefix: bytes | None = None,
    ) -> tuple[str, str]:
        """(POST body, msg_signature) as WeChat sends a message in safe or compatible mode.

        Used by the simulator, the phone emulator and tests to play WeChat's part.
        """
        encrypt = self.encrypt(plain_xml, random_prefix=random_prefix)
        signature = _msg_signature(self._token, timestamp, nonce, encrypt)
        element = f"<Encrypt>{cdata(encrypt)}</Encrypt>\n"
        if compatible:
            head, sep, _ = plain_xml.rstrip().rpartition("</xml>")
            if not sep:
                raise WeChatCryptoError("compatible mode needs a plain <xml> document")
            body = f"{head.rstrip()}\n{element}</xml>"
        else:
            body = f"<xml>\n<ToUserName>{cdata(to_user)}</ToUserName>\n{element}</xml>"
        return body, signature
