"""Masking of personal data, constant-time comparison and signing helpers."""

from __future__ import annotations

import hashlib
import hmac


def mask_openid(openid: str | None) -> str:
    """`oAbCdE…Yz0`-style: enough to correlate logs, not enough to identify a fan."""
    if not openid:
        return ""
    if len(openid) <= 8:
        return openid[:2] + "***"
    return f"{openid[:4]}***{openid[-3:]}"


def mask_account_no(account_no: str | None) -> str:
    """Keep the last four digits, as brokerage apps show them: `****6789`."""
    if not account_no:
        return ""
    return "****" + account_no[-4:] if len(account_no) > 4 else "****"


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def mask_id_no(id_no: str | None) -> str:
    if not id_no:
        return ""
    return f"{id_no[:3]}***********{id_no[-2:]}" if len(id_no) > 5 else "***"


MASKERS = {
    "openid": mask_openid,
    "unionid": mask_openid,
    "phone": mask_phone,
    "account_no": mask_account_no,
    "id_no": mask_id_no,
    "name": mask_name,
}


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def sha1_signature(*parts: str) -> str:
    """WeChat's signature: sha1 over the lexicographically sorted parts, lowercase hex."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()  # noqa: S324


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


# -- Timestamped HMAC request signatures (`t=<unix>,v1=<hex>[,v1=<hex>]`, DESIGN "Ingest") ----
# Shared by every signed ingest endpoint (alerts, conversion events). HMAC-SHA256 over
# `"<t>.<raw body>"`; any `v1` matching any active secret passes, so senders and we can rotate.

MAX_SIGNATURE_HEADER = 2048
MAX_SIGNATURES = 8


class SignatureHeaderError(ValueError):
    """Malformed, missing or non-matching signature header."""


class StaleSignatureHeaderError(SignatureHeaderError):
    """The signature matches but its timestamp is outside the replay window."""


def timestamped_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `v1` value for one secret."""
    return hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)


def timestamped_signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    """A complete header signed with every secret given (what a sender computes)."""
    values = ",".join(f"v1={timestamped_signature(s, timestamp, body)}" for s in secrets)
    return f"t={timestamp},{values}"


def parse_signature_header(header: str | None) -> tuple[int, tuple[str, ...]]:
    """(timestamp, v1 values) of a header; anything odd raises SignatureHeaderError."""
    if not header or len(header) > MAX_SIGNATURE_HEADER:
        raise SignatureHeaderError("missing or oversized signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureHeaderError("malformed signature header")
        if key == "t" and value.isdigit() and len(value) <= 12 and timestamp is None:
            timestamp = int(value)
        elif key == "v1" and len(value) == 64:
            signatures.append(value.lower())
        elif key not in ("t", "v1"):
            continue  # future schemes (v2=...) are ignored, as senders may add them
        else:
            raise SignatureHeaderError("malformed signature header")
    if timestamp is None or not signatures or len(signatures) > MAX_SIGNATURES:
        raise SignatureHeaderError("the signature header needs one t= and at least one v1=")
    return timestamp, tuple(signatures)


def verify_signature_header(
    header: str | None, body: bytes, *, secrets: list[str], now: float, tolerance_s: int
) -> int:
    """Check a header against every active secret; the signed timestamp, or raise."""
    timestamp, candidates = parse_signature_header(header)
    expected = [timestamped_signature(secret, timestamp, body) for secret in secrets]
    matched = False
    for candidate in candidates:
        for good in expected:
            # No early exit: the time taken does not reveal which secret or value matched.
            matched = constant_time_equals(candidate, good) or matched
    if not matched:
        raise SignatureHeaderError("signature does not match")
    if abs(now - timestamp) > tolerance_s:
        raise StaleSignatureHeaderError(f"timestamp outside the {tolerance_s}s window")
    return timestamp
