"""HMAC request signing of the ingest API (`X-Broker-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`).

The signature is HMAC-SHA256 over `"<t>.<raw body>"`, hex; any `v1` matching any active secret
passes (rotation: senders sign with old and new secrets, we accept several secrets). Timestamps
further than the tolerance from our clock, in either direction, are refused (replay window).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alerts.constants import SIGNATURE_TOLERANCE_S
from app.alerts.errors import SignatureError, StaleSignatureError
from app.core.security import constant_time_equals, hmac_sha256_hex

MAX_SIGNATURES = 8


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    timestamp: int
    signatures: tuple[str, ...]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `v1` value a sender computes (used by tests, docs and the dev tools)."""
    return hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    values = ",".join(f"v1={sign(secret, timestamp, body)}" for secret in secrets)
    return f"t={timestamp},{values}"


def parse_header(header: str | None) -> ParsedSignature:
    """Split `t=…,v1=…` pairs; anything odd is a bad signature (401), never a crash."""
    if not header or len(header) > 2048:
        raise SignatureError("missing or oversized X-Broker-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed X-Broker-Signature header")
        if key == "t" and value.isdigit() and len(value) <= 12 and timestamp is None:
            timestamp = int(value)
        elif key == "v1" and len(value) == 64:
            signatures.append(value.lower())
        elif key not in ("t", "v1"):
            continue  # future schemes (v2=...) are ignored, as senders may add them
        else:
            raise SignatureError("malformed X-Broker-Signature header")
    if timestamp is None or not signatures or len(signatures) > MAX_SIGNATURES:
        raise SignatureError("X-Broker-Signature needs one t= and at least one v1=")
    return ParsedSignature(timestamp, tuple(signatures))


def verify(
    header: str | None,
    body: bytes,
    *,
    secrets: list[str],
    now: float,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> int:
    """Check the header against every active secret; return the signed timestamp."""
    parsed = parse_header(header)
    expected = [sign(secret, parsed.timestamp, body) for secret in secrets]
    matched = False
    for candidate in parsed.signatures:
        for good in expected:
            # No early exit: the time taken does not reveal which secret or value matched.
            matched = constant_time_equals(candidate, good) or matched
    if not matched:
        raise SignatureError("signature does not match")
    if abs(now - parsed.timestamp) > tolerance_s:
        raise StaleSignatureError(f"timestamp outside the {tolerance_s}s window")
    return parsed.timestamp
