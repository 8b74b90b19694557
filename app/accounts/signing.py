"""Signed, expiring tokens for the H5 pages: the OAuth `state`, the session cookie, CSRF tokens.

Format: `base64url(json payload) "." base64url(HMAC-SHA256)`, the key derived from SECRET_KEY and
a purpose string, so a session cookie can never be replayed as an OAuth state or the reverse.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

MAX_TOKEN_CHARS = 2048


def _key(secret: str, purpose: str) -> bytes:
    return hashlib.sha256(f"wxbroker.h5:{purpose}:{secret}".encode()).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(secret: str, purpose: str, payload: dict[str, Any], *, expires_at: float) -> str:
    """A token carrying `payload` until `expires_at` (unix seconds)."""
    body = _b64(json.dumps({**payload, "exp": int(expires_at)}, separators=(",", ":")).encode())
    mac = hmac.new(_key(secret, purpose), body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify(secret: str, purpose: str, token: str | None, *, now: float) -> dict[str, Any] | None:
    """The payload of a genuine, unexpired token for this purpose; None for anything else."""
    if not token or len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        return None
    body, mac = token.split(".")
    expected = hmac.new(_key(secret, purpose), body.encode("ascii"), hashlib.sha256).digest()
    try:
        if not hmac.compare_digest(_unb64(mac), expected):
            return None
        payload = json.loads(_unb64(body))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int):
        return None
    return payload if payload["exp"] > now else None


def csrf_token(secret: str, session_id: str) -> str:
    """Bound to one H5 session: the page sends it back in a header on every POST."""
    return _b64(hmac.new(_key(secret, "csrf"), session_id.encode(), hashlib.sha256).digest())
