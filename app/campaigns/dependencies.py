"""Request dependencies of the campaigns API: the signed conversion body, the ops actor."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Request

from app.campaigns import constants as c
from app.campaigns.errors import BodyTooLargeError, IdempotencyKeyError, SignatureError
from app.core.deps import SettingsDep
from app.core.security import SignatureHeaderError, verify_signature_header
from app.wechat.client import WeChatClient

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


async def _capped_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > c.MAX_BODY_BYTES:
        raise BodyTooLargeError(f"body over {c.MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > c.MAX_BODY_BYTES:
            raise BodyTooLargeError(f"body over {c.MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def signed_body(request: Request, settings: SettingsDep) -> bytes:
    """The raw body once `X-Broker-Signature` checked out (same scheme as the alerts ingest),
    and an `Idempotency-Key` is present (event ids make replays harmless)."""
    body = await _capped_body(request)
    try:
        verify_signature_header(
            request.headers.get(c.SIGNATURE_HEADER),
            body,
            secrets=settings.ingest_secrets,
            now=request.app.state.clock.timestamp(),
            tolerance_s=c.SIGNATURE_TOLERANCE_S,
        )
    except SignatureHeaderError as exc:
        raise SignatureError(str(exc)) from None
    if not IDEMPOTENCY_KEY.match(request.headers.get(c.IDEMPOTENCY_HEADER, "")):
        raise IdempotencyKeyError("Idempotency-Key header required: 1-100 printable ASCII")
    return body


def ops_actor(request: Request) -> str:
    """Who acts: the staff member issue #8's auth puts on `request.state.ops_actor`, else
    the `X-Ops-Actor` header (recorded, not trusted)."""
    actor = getattr(request.state, "ops_actor", None) or request.headers.get("X-Ops-Actor")
    return str(actor or "ops-api")[:64]


def wechat_client(request: Request) -> WeChatClient:
    client: WeChatClient = request.app.state.wechat
    return client


SignedBody = Annotated[bytes, Depends(signed_body)]
OpsActorDep = Annotated[str, Depends(ops_actor)]
WeChatDep = Annotated[WeChatClient, Depends(wechat_client)]
