"""TEMPLATESENDJOBFINISH receipts: sent → delivered | failed by the msgid WeChat returned."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.redis import Redis
from app.core.time import SystemClock
from app.push.constants import EARLY_RECEIPT_PREFIX, DeliveryStatus
from app.push.repository import DeliveryRepository, queue_repository

log = logging.getLogger(__name__)
# A receipt can overtake the worker's commit of `sent`: keep it this long for the worker.
EARLY_RECEIPT_TTL_S = 3600


async def handle_template_receipt(
    session: AsyncSession,
    *,
    msg_id: int,
    ok: bool,
    status: str,
    now: datetime | None = None,
) -> bool:
    """Apply a receipt (idempotent). False when no delivery carries this msgid (yet)."""
    at = now or SystemClock().now()
    deliveries = DeliveryRepository(session)
    updated = await deliveries.apply_receipt(msgid=msg_id, delivered=ok, now=at)
    if not updated:
        if not await deliveries.exists_msgid(msg_id):
            return False
        # The worker's `sent` may have committed between the two statements: apply again
        # (a no-op when the row already took a receipt).
        updated = await deliveries.apply_receipt(msgid=msg_id, delivered=ok, now=at)
    if updated:
        target = DeliveryStatus.DELIVERED if ok else DeliveryStatus.FAILED
        events = [(i, DeliveryStatus.SENT, target, None, status[:255]) for i in updated]
        await queue_repository(session, cs=False).add_events(events, at=at)
        log.info("push.receipt.applied", extra={"msgid": msg_id, "ok": ok, "status": status})
    return True


async def stash_early_receipt(redis: Redis, *, msg_id: int, ok: bool, status: str) -> None:
    """Keep a receipt whose delivery is not recorded as sent yet; the worker applies it."""
    value = orjson.dumps({"ok": ok, "status": status})
    await redis.set(f"{EARLY_RECEIPT_PREFIX}{msg_id}", value, ex=EARLY_RECEIPT_TTL_S)


async def forget_early_receipt(redis: Redis, *, msg_id: int) -> None:
    await redis.delete(f"{EARLY_RECEIPT_PREFIX}{msg_id}")


async def take_early_receipts(redis: Redis, msgids: Sequence[int]) -> dict[int, tuple[bool, str]]:
    """Receipts that arrived before these msgids were committed (and forget them)."""
    if not msgids:
        return {}
    keys = [f"{EARLY_RECEIPT_PREFIX}{m}" for m in msgids]
    values = await redis.mget(keys)
    found: dict[int, tuple[bool, str]] = {}
    for msgid, key, raw in zip(msgids, keys, values, strict=True):
        if raw is None:
            continue
        data = orjson.loads(raw)
        found[msgid] = (bool(data.get("ok")), str(data.get("status", "")))
        await redis.delete(key)
    return found
