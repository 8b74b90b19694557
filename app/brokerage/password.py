"""Browser-side password encryption (RSA-OAEP, SHA-256) and its counter-side counterpart.

The H5 binding page does with WebCrypto what `encrypt_password` does here:
`crypto.subtle.importKey("spki", der, {name: "RSA-OAEP", hash: "SHA-256"}, false, ["encrypt"])`
then `crypto.subtle.encrypt({name: "RSA-OAEP"}, key, utf8(password))`, base64 of the result.
Our server only ever relays the ciphertext; only the counter holds the private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import cache

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

ALGORITHM = "RSA-OAEP-256"
MAX_CIPHERTEXT_CHARS = 2048


class PasswordCipherError(ValueError):
    """Ciphertext or key that cannot be used (bad base64, wrong key, bad padding)."""


def _oaep() -> padding.OAEP:
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def encrypt_password(public_key_pem: str, password: str) -> str:
    """Encrypt like the browser does; returns base64 ciphertext."""
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PasswordCipherError("not a PEM public key") from exc
    if not isinstance(key, rsa.RSAPublicKey):
        raise PasswordCipherError("not an RSA public key")
    return base64.b64encode(key.encrypt(password.encode("utf-8"), _oaep())).decode("ascii")


class PasswordKeyPair:
    """The counter's key pair: serves the public half, decrypts what browsers sent."""

    def __init__(self, private_key: rsa.RSAPrivateKey) -> None:
        self._private = private_key
        spki = private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public_pem = spki.decode("ascii")
        self.key_id = hashlib.sha256(spki).hexdigest()[:16]

    @classmethod
    def generate(cls) -> PasswordKeyPair:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def from_pem(cls, private_pem: str) -> PasswordKeyPair:
        key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise PasswordCipherError("not an RSA private key")
        return cls(key)

    def decrypt(self, ciphertext_b64: str) -> str:
        if len(ciphertext_b64) > MAX_CIPHERTEXT_CHARS:
            raise PasswordCipherError("ciphertext too long")
        try:
            raw = base64.b64decode(ciphertext_b64, validate=True)
            return self._private.decrypt(raw, _oaep()).decode("utf-8")
        except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise PasswordCipherError("cannot decrypt the password") from exc


@cache
def process_keypair() -> PasswordKeyPair:
    """One key pair per process, made on first use (key generation takes a noticeable moment)."""
    return PasswordKeyPair.generate()
