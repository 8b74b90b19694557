"""Push pipeline services: create deliveries, enqueue deferred CS replies, status, re-drive."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.core.redis import Redis
from app.core.security import mask_openid
from app.core.time import Clock, SystemClock
from app.push import dead_letters, stream
from app.push.constants import DeliveryStatus, Kind, PushConfig, Severity
from app.push.dead_letters import count_dead_letters, list_dead_letters, redrive_dead_letter
from app.push.errors import AlertNotFoundError, DeliveryNotFoundError, InvalidSeverityError
from app.push.fanout import (
    first_new_delivery_id,
    insert_deliveries_from_select,
    insert_delivery_rows,
    of_alert,
    remember_new_alert,
)
from app.push.models import Alert, CsMessage
from app.push.receipts import handle_template_receipt
from app.push.relay import publish_or_unqueue
from app.push.repository import (
    AlertRepository,
    CsMessageRepository,
    DeliveryRepository,
    queue_repository,
)
from app.push.schemas import AlertStatusRead, DeliveryEventRead, DeliveryRead

log = logging.getLogger(__name__)
DEFAULT_CONFIG = PushConfig()

__all__ = [
    "count_dead_letters",
    "create_alert",
    "create_deliveries",
    "enqueue_customer_service_reply",
    "get_alert_status",
    "get_delivery",
    "handle_template_receipt",
    "insert_deliveries_from_select",
    "list_dead_letters",
    "publish_now",
    "redrive_dead_letter",
    "redrive_dead_letters",
]


async def create_alert(
    session: AsyncSession,
    *,
    alert_type: str,
    severity: str,
    payload: dict[str, Any],
    idempotency_key: str | None = None,
    source: str | None = None,
    expires_at: datetime | None = None,
    template_id: str | None = None,
    data: dict[str, str] | None = None,
    url: str | None = None,
) -> Alert:
    """Add an alert row (flushed, not committed).

    `template_id`, `data`, `url`: the rendered template every recipient gets, needed by
    `insert_deliveries_from_select` (stored once here instead of on each delivery row).
    """
    if severity not in set(Severity):
        raise InvalidSeverityError(severity)
    alert = Alert(
        type=alert_type,
        severity=severity,
        payload=payload,
        idempotency_key=idempotency_key,
        source=source,
        expires_at=expires_at,
        template_id=template_id,
        data=data,
        url=url,
        # Every delivery id handed out from now on is above the sequence's value now: the low
        # end of the alert's delivery id range, read by the INSERT (no round trip of its own).
        first_delivery_id=first_new_delivery_id(session),
    )
    added = await AlertRepository(session).add(alert)
    remember_new_alert(session, added.id)  # its first fan-out skips the lock and the check
    return added


async def create_deliveries(
    session: AsyncSession,
    *,
    alert: Alert,
    template_id: str,
    recipients: Sequence[tuple[str, dict[str, str]]],
    url: str | None = None,
) -> int:
    """Add `pending` deliveries of an alert for (openid, template data) pairs; a replay adds none.

    Each row carries its own template and data. A fan-out (the same template for every fan,
    recipients chosen in SQL) uses `insert_deliveries_from_select` instead.
    """
    rows = [
        {
            "openid": openid,
            "template_id": template_id,
            "data": data,
            "url": url,
            "severity": alert.severity,
            "expires_at": alert.expires_at,
        }
        for openid, data in recipients
    ]
    return await insert_delivery_rows(session, alert_id=alert.id, rows=rows)


async def publish_now(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    kind: Kind,
    ids: Sequence[int],
    clock: Clock | None = None,
    config: PushConfig = DEFAULT_CONFIG,
) -> list[int]:
    """Relay committed pending rows right away instead of waiting for the relay loop's tick.

    Call after the producing transaction committed. On a Redis error the rows stay pending and
    the relay loop retries; returns the ids that reached Redis.
    """
    now = (clock or SystemClock()).now()
    lease_until = now + timedelta(seconds=config.queue_lease_s)
    async with unit_of_work(sessionmaker) as session:
        repo = queue_repository(session, cs=kind is Kind.CS)
        queued = await repo.mark_ids_queued(ids, now=now, lease_until=lease_until)
        lanes = await _lanes_of(session, kind, queued)
    if not queued:
        return []
    await publish_or_unqueue(sessionmaker, redis, kind, lanes, config=config)
    return queued


async def _lanes_of(session: AsyncSession, kind: Kind, ids: list[int]) -> list[tuple[int, str]]:
    if kind is Kind.CS:
        return [(i, "cs") for i in ids]
    return await DeliveryRepository(session).list_lanes(ids)


async def enqueue_customer_service_reply(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    openid: str,
    message: dict[str, Any],
    reason: str,
    clock: Clock | None = None,
    config: PushConfig = DEFAULT_CONFIG,
) -> int:
    """Commit a deferred customer-service reply, then queue it for the worker; returns its id.

    `message` is `Reply.to_custom_message()`. If Redis is down the row stays `pending` and the
    relay loop queues it later; the reply is never lost once this returns.
    """
    async with unit_of_work(sessionmaker) as session:
        row = await CsMessageRepository(session).add(
            CsMessage(openid=openid, message=message, reason=reason[:64])
        )
        message_id = row.id
    try:
        await publish_now(
            sessionmaker, redis, kind=Kind.CS, ids=[message_id], clock=clock, config=config
        )
    except (RedisError, SQLAlchemyError):  # the row is committed; the relay loop queues it
        log.warning(
            "push.cs.enqueue_deferred",
            extra={"openid": mask_openid(openid), "cs_message_id": message_id},
            exc_info=True,
        )
    log.info(
        "push.cs.enqueued",
        extra={"openid": mask_openid(openid), "cs_message_id": message_id, "reason": reason},
    )
    return message_id


async def get_alert_status(session: AsyncSession, alert_id: int) -> AlertStatusRead:
    """Delivery counts by status for one alert."""
    alert = await AlertRepository(session).get(alert_id)
    if alert is None:
        raise AlertNotFoundError(alert_id)
    counts = await queue_repository(session, cs=False).count_by_status(of_alert(alert_id))
    full = {status.value: counts.get(status.value, 0) for status in DeliveryStatus}
    return AlertStatusRead(
        alert_id=alert.id,
        type=alert.type,
        severity=alert.severity,
        total=sum(full.values()),
        counts=full,
    )


async def get_delivery(session: AsyncSession, delivery_id: int) -> DeliveryRead:
    """A delivery with its timestamps and outcome history."""
    deliveries = DeliveryRepository(session)
    delivery = await deliveries.get(delivery_id)
    if delivery is None:
        raise DeliveryNotFoundError(delivery_id)
    events = await deliveries.list_events(delivery_id)
    fields = {
        name: getattr(delivery, name) for name in DeliveryRead.model_fields if name != "history"
    }
    fields["openid"] = mask_openid(delivery.openid)
    if delivery.template_id is None:  # a fan-out row: the alert holds the template
        alert = await AlertRepository(session).get(delivery.alert_id)
        fields["template_id"] = alert.template_id if alert is not None else None
    fields["history"] = [
        DeliveryEventRead(
            from_status=e.from_status,
            to_status=e.to_status,
            errcode=e.errcode,
            detail=e.detail,
            at=e.at,
        )
        for e in events
    ]
    return DeliveryRead(**fields)


async def redrive_dead_letters(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    clock: Clock | None = None,
    limit: int = 1000,
) -> int:
    """Put dead-lettered sends back to `pending` with a fresh attempt budget; returns the count.

    Template sends come from PostgreSQL (`dead_letters`: the truth, even after Redis lost its
    list); CS messages, which keep no event history, from the Redis list. Rows are reset first
    and only then is the list trimmed, so a crash in between re-drives twice at worst (harmless:
    only `failed` rows are reset). With Redis down the template sends are still re-driven.
    """
    now = (clock or SystemClock()).now()
    try:
        members, raw_count = await stream.peek_dead_letters(redis, limit)
    except RedisError:
        log.warning("push.dead_letter.redis_unavailable", exc_info=True)
        members, raw_count = [], 0
    redriven = 0
    async with unit_of_work(sessionmaker) as session:
        delivery_ids = await dead_letters.list_dead_letter_ids(session, limit=limit)
        cs_ids = [i for k, i in members if k is Kind.CS]
        for cs, ids in ((False, delivery_ids), (True, cs_ids)):
            if ids:
                redriven += len(await queue_repository(session, cs=cs).redrive(ids, now=now))
    if raw_count:
        # The list's delivery members are covered by PostgreSQL (re-driven above when they
        # still were dead letters); dropping them leaves nothing behind.
        await stream.drop_dead_letters(redis, raw_count)
    log.info("push.dead_letter.redriven", extra={"count": redriven})
    return redriven
