"""Outbox relay: committed `pending` rows → Redis Streams (ids only).

Hot path (fresh rows: inserted by a producer, never relayed): a cursor per kind. In one
transaction the relay locks the cursor, finds the id horizon (the highest id no producer can
still commit a row below, proven without blocking any producer: `app.push.horizon`), reads the
fresh ids in (cursor, horizon], XADDs them and moves the cursor. No row is updated: a fresh row
at or below the cursor *is* queued (the API derives it; the worker's claim sets it). If the
XADD fails the transaction rolls back and the cursor stays; if the commit fails after the
XADD, the ids go out twice, which the atomic claim makes harmless.

Cold path (rows put back to `pending`: retries, 45009 deferrals, reconciler re-queues,
re-drives, failed XADDs of it): marked `queued` per row in a short transaction (SKIP LOCKED)
and XADDed after the commit; a failed XADD puts them back to `pending`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import timedelta

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.core.redis import Redis
from app.core.time import Clock
from app.push import stream
from app.push.constants import CS_LANE, Kind, PushConfig
from app.push.horizon import IdHorizon
from app.push.metrics import PUSH_HORIZON_WAIT, PUSH_RELAYED
from app.push.repository import queue_repository

log = logging.getLogger(__name__)


async def relay_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    *,
    clock: Clock,
    config: PushConfig,
    horizons: Mapping[Kind, IdHorizon] | None = None,
) -> int:
    """Relay every due pending row of both tables; returns how many ids reached Redis.

    `horizons`: the relay loop's own, kept from tick to tick (`new_horizons`); without them
    this call proves only ids no producer is in flight around."""
    horizons = horizons or new_horizons()
    total = 0
    for kind in (Kind.DELIVERY, Kind.CS):
        total += await relay_fresh(
            sessionmaker, redis, kind, clock=clock, config=config, horizon=horizons[kind]
        )
        after_id = 0  # batches walk the primary key forward instead of rescanning from the start
        while True:
            moved, after_id = await _relay_batch(
                sessionmaker, redis, kind, clock=clock, config=config, after_id=after_id
            )
            total += moved
            if moved < config.relay_batch:
                break
    return total


async def relay_fresh(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    kind: Kind,
    *,
    clock: Clock,
    config: PushConfig,
    horizon: IdHorizon,
) -> int:
    """The cursor path: fresh ids up to the horizon reach Redis and the cursor moves past them."""
    total = 0
    while True:
        async with unit_of_work(sessionmaker) as session:
            repo = queue_repository(session, cs=kind is Kind.CS)
            cursor = await repo.lock_cursor()
            proven = await repo.id_horizon(horizon)
            if proven <= cursor:
                return total
            by_lane, highest = await repo.fresh_after(cursor, proven, config.relay_batch)
            count = sum(len(ids) for ids in by_lane.values())
            full = count == config.relay_batch
            for lane, ids in by_lane.items():  # XADD before the cursor commit
                await stream.publish(
                    redis, CS_LANE if kind is Kind.CS else lane, ids, per_entry=config.ids_per_entry
                )
            await repo.advance_cursor(highest if full else proven, at=clock.now())
        PUSH_RELAYED.labels(kind.value).inc(count)
        total += count
        if not full:
            return total


def new_horizons() -> dict[Kind, IdHorizon]:
    return {kind: IdHorizon() for kind in Kind}


async def _publish(
    redis: Redis, kind: Kind, picked: Sequence[tuple[int, str]], *, config: PushConfig
) -> None:
    by_lane: dict[str, list[int]] = defaultdict(list)
    for item_id, lane in picked:
        by_lane[CS_LANE if kind is Kind.CS else lane].append(item_id)
    for lane, ids in by_lane.items():
        await stream.publish(redis, lane, ids, per_entry=config.ids_per_entry)


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
    try:
        await _publish(redis, kind, picked, config=config)
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
    horizons = new_horizons()  # candidates carry over from one tick to the next
    warned_at: dict[Kind, float] = {}
    last_moved_at = -math.inf
    while not stop.is_set():
        try:
            moved = await relay_once(
                sessionmaker, redis, clock=clock, config=config, horizons=horizons
            )
        except RedisError:
            moved = 0  # logged above; rows are back to pending, try again next tick
        watch_horizons(horizons, config, now=time.monotonic(), warned_at=warned_at)
        if moved:
            log.debug("push.relay.moved", extra={"count": moved})
            last_moved_at = time.monotonic()
            continue
        with contextlib.suppress(TimeoutError):
            since_moved_s = time.monotonic() - last_moved_at
            proving = any(h.candidates for h in horizons.values())
            wait_s = idle_wait_s(config, since_moved_s=since_moved_s, proving=proving)
            await asyncio.wait_for(stop.wait(), wait_s)


def watch_horizons(
    horizons: Mapping[Kind, IdHorizon],
    config: PushConfig,
    *,
    now: float,
    warned_at: dict[Kind, float],
) -> None:
    """Export how long each horizon waits for producers, and log a stall.

    A producer transaction left open (a hung request, an `idle in transaction` session) holds
    back every committed row with a higher id, without any error: the gauge shows it and the
    log names the transactions (`pg_locks.virtualtransaction`; its `pid` leads to
    `pg_stat_activity`), at most once per `horizon_stall_warn_s`.
    """
    for kind, horizon in horizons.items():
        waiting_s = horizon.waiting_s(now)
        PUSH_HORIZON_WAIT.labels(kind.value).set(waiting_s)
        if waiting_s < config.horizon_stall_warn_s:
            continue
        if now - warned_at.get(kind, -math.inf) < config.horizon_stall_warn_s:
            continue
        warned_at[kind] = now
        log.warning(
            "push.relay.horizon_stalled",
            extra={
                "kind": kind.value,
                "waiting_s": round(waiting_s, 1),
                "transactions": sorted(horizon.blocking()),
            },
        )


def idle_wait_s(config: PushConfig, *, since_moved_s: float, proving: bool = False) -> float:
    """Poll often while producers are active, rarely when the system is idle.

    Every row a producer commits waits for the next tick: at a steady 100 alerts/s the 0.2 s
    idle interval alone was half of the alert -> send p99 budget. So for a while after a tick
    that moved rows the relay ticks every `relay_busy_interval_s`, and while a horizon
    candidate waits for producers to end (`proving`; their transactions take milliseconds)
    every `relay_proving_interval_s`; an idle system keeps paying only the slow
    `relay_interval_s` poll.
    """
    if proving:
        return config.relay_proving_interval_s
    if since_moved_s < config.relay_busy_window_s:
        return config.relay_busy_interval_s
    return config.relay_interval_s
