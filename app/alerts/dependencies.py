"""Request dependencies of the ingest API: signed raw body, Idempotency-Key, fan-out config."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.alerts import idempotency, signing
from app.alerts.constants import IDEMPOTENCY_HEADER, MAX_BODY_BYTES, SIGNATURE_HEADER
from app.alerts.errors import BodyTooLargeError
from app.alerts.service import FanOutConfig
from app.core.deps import SettingsDep


async def _capped_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLargeError(f"body over {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLargeError(f"body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def signed_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body, once `X-Broker-Signature` checked out (401 otherwise)."""
    body = await _capped_body(request)
    signing.verify(
        request.headers.get(SIGNATURE_HEADER),
        body,
        secrets=settings.ingest_secrets,
        now=request.app.state.clock.timestamp(),
    )
    return body


def idempotency_key(request: Request) -> str:
    return idempotency.validate_key(request.headers.get(IDEMPOTENCY_HEADER))


def fan_out_config(request: Request, settings: SettingsDep) -> FanOutConfig:
    resolver = getattr(request.app.state, "alerts_customer_resolver", None)
    return FanOutConfig(
        base_url=settings.base_url,
        template_ids=settings.alert_template_ids,
        customer_resolver=resolver,
    )


SignedBody = Annotated[bytes, Depends(signed_body)]
IdempotencyKey = Annotated[str, Depends(idempotency_key)]
FanOutConfigDep = Annotated[FanOutConfig, Depends(fan_out_config)]
