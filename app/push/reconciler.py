"""Reconciler: re-queue rows stuck in queued/sending past their lease, or all queued rows
after Redis lost its data (FLUSHALL, failover without persistence); also samples queue depth.

Safe to repeat: a re-queued row is sent again with the same `client_msg_id` (its id), so
WeChat drops the repeat, and the worker's claim is an atomic `UPDATE … WHERE status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.core.redis import Redis
from app.core.time import Clock
from app.push import stream
from app.push.constants import EPOCH_KEY, Kind, PushConfig
from app.push.metrics import PUSH_QUEUE_DEPTH, PUSH_REQUEUED
from app.push.repository import queue_repository

log = logging.getLogger(__name__)


async def reconcile_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    clock: Clock,
    config: PushConfig,
) -> int:
    """Re-queue stuck rows (back to `pending`, for the relay); returns how many."""
    redis_lost = not await redis.exists(EPOCH_KEY)
    total = 0
    for kind in (Kind.DELIVERY, Kind.CS):
        if redis_lost:  # fresh rows the relay cursor passed are in no stream any more
            async with unit_of_work(sessionmaker) as session:
                rewound = await queue_repository(session, cs=kind is Kind.CS).rewind_cursor()
            total += rewound
            PUSH_REQUEUED.labels(kind.value).inc(rewound)
        while True:
            async with unit_of_work(sessionmaker) as session:
                repo = queue_repository(session, cs=kind is Kind.CS)
                ids = await repo.requeue_stuck(
                    now=clock.now(), limit=config.reconcile_batch, every_queued=redis_lost
                )
                ids += await repo.requeue_stale_fresh(
                    now=clock.now(), lease_s=config.queue_lease_s, limit=config.reconcile_batch
                )
            total += len(ids)
            PUSH_REQUEUED.labels(kind.value).inc(len(ids))
            if len(ids) < config.reconcile_batch:
                break
    if redis_lost:
        # Only now: every row queued before the loss is pending again and will be relayed.
        await stream.ensure_groups(redis)
        await redis.set(EPOCH_KEY, clock.now().isoformat())
        log.warning("push.reconciler.redis_data_lost", extra={"requeued": total})
    elif total:
        log.warning("push.reconciler.requeued", extra={"count": total})
    for lane, depth in (await stream.depth(redis)).items():
        PUSH_QUEUE_DEPTH.labels(lane).set(depth)
    return total


async def run_reconciler(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    stop: asyncio.Event,
    *,
    clock: Clock,
    config: PushConfig,
) -> None:
    while not stop.is_set():
        await reconcile_once(sessionmaker, redis, clock=clock, config=config)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.reconcile_interval_s)
