"""HMAC request signing of the ingest API (`X-Broker-Signature: t=<unix>,v1=<hex>[,v1=<hex>]`).

The signature is HMAC-SHA256 over `"<t>.<raw body>"`, hex; any `v1` matching any active secret
passes (rotation: senders sign with old and new secrets, we accept several secrets). Timestamps
further than the tolerance from our clock, in either direction, are refused (replay window).
The algorithm lives in `app.core.security` (conversion ingest uses it too); this module maps
its failures to the alerts feature's errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.alerts.constants import SIGNATURE_TOLERANCE_S
from app.alerts.errors import SignatureError, StaleSignatureError
from app.core import security
from app.core.security import MAX_SIGNATURES as MAX_SIGNATURES


@dataclass(frozen=True, slots=True)
class ParsedSignature:
    timestamp: int
    signatures: tuple[str, ...]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `v1` value a sender computes (used by tests, docs and the dev tools)."""
    return security.timestamped_signature(secret, timestamp, body)


def signature_header(secrets: list[str], timestamp: int, body: bytes) -> str:
    return security.timestamped_signature_header(secrets, timestamp, body)


def parse_header(header: str | None) -> ParsedSignature:
    """Split `t=…,v1=…` pairs; anything odd is a bad signature (401), never a crash."""
    try:
        timestamp, signatures = security.parse_signature_header(header)
    except security.SignatureHeaderError as exc:
        raise SignatureError(str(exc)) from None
    return ParsedSignature(timestamp, signatures)


def verify(
    header: str | None,
    body: bytes,
    *,
    secrets: list[str],
    now: float,
    tolerance_s: int = SIGNATURE_TOLERANCE_S,
) -> int:
    """Check the header against every active secret; return the signed timestamp."""
    try:
        return security.verify_signature_header(
            header, body, secrets=secrets, now=now, tolerance_s=tolerance_s
        )
    except security.StaleSignatureHeaderError as exc:
        raise StaleSignatureError(str(exc)) from None
    except security.SignatureHeaderError as exc:
        raise SignatureError(str(exc)) from None
