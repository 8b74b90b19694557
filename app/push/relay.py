"""Outbox relay: committed `pending` rows → Redis Streams (ids only), marked `queued`.

Rows are marked `queued` in a short transaction (SKIP LOCKED, so several relays never pick the
same rows), and XADDed after the commit: nothing touches Redis inside a transaction. If the
XADD fails the rows go back to `pending`; if the process dies in between, the reconciler
re-queues them once their queue lease ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.core.redis import Redis
from app.core.time import Clock
from app.push import stream
from app.push.constants import CS_LANE, Kind, PushConfig
from app.push.metrics import PUSH_RELAYED
from app.push.repository import queue_repository

log = logging.getLogger(__name__)


async def relay_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    clock: Clock,
    config: PushConfig,
) -> int:
    """Relay every due pending row of both tables; returns how many ids reached Redis."""
    total = 0
    for kind in (Kind.DELIVERY, Kind.CS):
        after_id = 0  # batches walk the primary key forward instead of rescanning from the start
        while True:
            moved, after_id = await _relay_batch(
                sessionmaker, redis, kind, clock=clock, config=config, after_id=after_id
            )
            total += moved
            if moved < config.relay_batch:
                break
    return total


async def _relay_batch(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    kind: Kind,
    *,
    clock: Clock,
    config: PushConfig,
    after_id: int = 0,
) -> tuple[int, int]:
    """One batch of due pending rows with ids above `after_id`: (count, highest id)."""
    now = clock.now()
    lease_until = now + timedelta(seconds=config.queue_lease_s)
    async with unit_of_work(sessionmaker) as session:
        repo = queue_repository(session, cs=kind is Kind.CS)
        picked = await repo.mark_queued(
            now=now, lease_until=lease_until, limit=config.relay_batch, after_id=after_id
        )
    if not picked:
        return 0, after_id
    await publish_or_unqueue(sessionmaker, redis, kind, picked, config=config)
    return len(picked), picked[-1][0]


async def publish_or_unqueue(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    kind: Kind,
    picked: Sequence[tuple[int, str]],
    *,
    config: PushConfig,
) -> None:
    """XADD (id, lane) pairs already committed as `queued`; put them back on a Redis error."""
    by_lane: dict[str, list[int]] = defaultdict(list)
    for item_id, lane in picked:
        by_lane[CS_LANE if kind is Kind.CS else lane].append(item_id)
    try:
        for lane, ids in by_lane.items():
            await stream.publish(redis, lane, ids, per_entry=config.ids_per_entry)
    except RedisError:
        log.warning("push.relay.redis_down", extra={"kind": kind.value, "count": len(picked)})
        async with unit_of_work(sessionmaker) as session:
            await queue_repository(session, cs=kind is Kind.CS).unqueue([i for i, _ in picked])
        raise
    PUSH_RELAYED.labels(kind.value).inc(len(picked))


async def run_relay(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
    *,
    clock: Clock,
    config: PushConfig,
) -> None:
    """The relay loop: relay, then wait a moment (or until stopped)."""
    while not stop.is_set():
        try:
            moved = await relay_once(sessionmaker, redis, clock=clock, config=config)
        except RedisError:
            moved = 0  # logged above; rows are back to pending, try again next tick
        if moved:
            log.debug("push.relay.moved", extra={"count": moved})
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.relay_interval_s)
