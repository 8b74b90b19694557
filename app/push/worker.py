"""The push worker: XREADGROUP → claim → rate limit → send → record → ack.

A batch is read lanes-first (critical before marketing), claimed in one UPDATE (queued →
sending with a lease), sent with bounded concurrency and no transaction open, recorded in one
transaction fenced by the lease, and acked only after that commit. A crash anywhere leaves the
entries pending in the group (XAUTOCLAIM) and the rows leased (reconciler); a repeat send is
dropped by WeChat because `client_msg_id` = delivery id.

The loop keeps `batches_in_flight` batches going at once, sharing one pool of send slots: the
next batch is read and claimed while the current one's last sends are out, and one batch is
recorded while the next one sends, so the slots never sit idle behind a batch boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import retry_on_disconnect, unit_of_work
from app.core.redis import Redis, is_in_process
from app.core.supervisor import Supervisor
from app.core.time import Clock, next_beijing_midnight
from app.push import stream
from app.push.constants import (
    DEAD_LETTERED,
    HEARTBEAT_PREFIX,
    PAUSE_KEYS,
    DeliveryStatus,
    Kind,
    PushConfig,
)
from app.push.metrics import PUSH_ERRORS, PUSH_LAG, PUSH_SENDS
from app.push.ratelimit import RateLimiter
from app.push.receipts import handle_template_receipt, take_early_receipts
from app.push.reconciler import run_reconciler
from app.push.relay import run_relay
from app.push.repository import Claimed, Transition, queue_repository
from app.push.sender import (
    Outcome,
    OutcomeKind,
    PushWeChat,
    send_custom,
    send_template,
    timed_out,
)
from app.push.stream import StreamEntry
from app.wechat.errors import (
    MAX_ATTEMPTS,
    ErrorKind,
    RetryDecision,
    WeChatError,
    retry_decision,
)

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]


def config_from_settings(settings: Settings, base: PushConfig | None = None) -> PushConfig:
    """The worker's tuning from `PUSH_*` settings (the rest keeps PushConfig's defaults)."""
    return replace(
        base or PushConfig(),
        concurrency=settings.push_concurrency,
        rate_per_s=settings.push_rate_per_s,
        send_lease_s=settings.push_send_lease_s,
        autoclaim_idle_ms=settings.push_autoclaim_idle_ms,
        reconcile_interval_s=settings.push_reconcile_interval_s,
        # No BLOCK on the in-process stand-in: the loop polls every 0.2 s when idle.
        block_ms=None if is_in_process(settings.redis_url) else (base or PushConfig()).block_ms,
    )


def new_consumer_name() -> str:
    """Unique per process start, so a restarted worker never inherits a dead one's PEL blindly."""
    return f"{socket.gethostname()}-{os.getpid()}-{os.urandom(3).hex()}"


@dataclass
class WorkerContext:
    redis: Redis
    sessionmaker: async_sessionmaker[AsyncSession]
    wechat: PushWeChat
    clock: Clock
    config: PushConfig = field(default_factory=PushConfig)
    consumer: str = field(default_factory=new_consumer_name)
    limiter: RateLimiter | None = None
    rng: random.Random = field(default_factory=random.Random)
    sleep: Sleep = asyncio.sleep
    next_autoclaim_at: float = 0.0
    # Shared by every batch in flight: `concurrency` bounds the sends of the whole worker.
    send_slots: asyncio.Semaphore | None = None
    # A 45009 seen by one batch stops the others in flight before they send (until the reset).
    quota_gone_until: dict[Kind, datetime] = field(default_factory=dict)

    @property
    def block_ms(self) -> int | None:
        return self.config.block_ms

    def slots(self) -> asyncio.Semaphore:
        if self.send_slots is None:
            self.send_slots = asyncio.Semaphore(self.config.concurrency)
        return self.send_slots

    def quota_gone(self, kind: Kind) -> bool:
        until = self.quota_gone_until.get(kind)
        return until is not None and self.clock.now() < until


@dataclass
class BatchResult:
    """What the recording step decided, for the Redis side effects after the commit."""

    dead: list[int] = field(default_factory=list)
    pause_until: datetime | None = None
    sent_msgids: list[int] = field(default_factory=list)


async def run_once(ctx: WorkerContext) -> int:
    """Handle one batch and return how many entries it held. Tests call this directly."""
    entries = await read_entries(ctx)
    await handle_batch(ctx, entries)
    return len(entries)


async def read_entries(ctx: WorkerContext) -> list[StreamEntry]:
    """The next batch: a dead consumer's entries (XAUTOCLAIM, now and then), else new ones."""
    entries: list[StreamEntry] = []
    if ctx.clock.timestamp() >= ctx.next_autoclaim_at:
        ctx.next_autoclaim_at = ctx.clock.timestamp() + ctx.config.autoclaim_interval_s
        entries = await stream.autoclaim(
            ctx.redis,
            ctx.consumer,
            min_idle_ms=ctx.config.autoclaim_idle_ms,
            count=ctx.config.worker_entries,
        )
    if not entries:
        entries = await stream.read_batch(
            ctx.redis, ctx.consumer, max_entries=ctx.config.worker_entries, block_ms=ctx.block_ms
        )
    await heartbeat(ctx)
    return entries


async def handle_batch(ctx: WorkerContext, entries: Sequence[StreamEntry]) -> None:
    for kind in _kinds_in_order(entries):
        await handle_entries(ctx, kind, [e for e in entries if e.kind is kind])


def _kinds_in_order(entries: Sequence[StreamEntry]) -> list[Kind]:
    kinds: list[Kind] = []
    for entry in entries:  # entries come lane by lane, highest priority first
        if entry.kind not in kinds:
            kinds.append(entry.kind)
    return kinds


async def handle_entries(ctx: WorkerContext, kind: Kind, entries: Sequence[StreamEntry]) -> None:
    """Claim, send, record, then ack (an exception before the ack leaves entries pending)."""
    ids = sorted({i for entry in entries for i in entry.ids})
    now = ctx.clock.now()
    pause_until = await paused_until(ctx, kind)
    if pause_until is not None:
        async with unit_of_work(ctx.sessionmaker) as session:
            await queue_repository(session, cs=kind is Kind.CS).defer(ids, until=pause_until)
    elif ids:
        claimed = await claim(ctx, kind, ids, now=now)
        outcomes = await send_all(ctx, kind, claimed)
        result = await record_outcomes(ctx, kind, outcomes)
        await after_commit(ctx, kind, result)
    await stream.ack(ctx.redis, entries)


async def claim(
    ctx: WorkerContext, kind: Kind, ids: Sequence[int], *, now: datetime
) -> list[Claimed]:
    lease_until = now + timedelta(seconds=ctx.config.send_lease_s)
    expired: list[int] = []

    async def work(session: AsyncSession) -> list[Claimed]:
        repo = queue_repository(session, cs=kind is Kind.CS)
        if kind is Kind.DELIVERY:
            expired[:] = await repo.expire(ids, now=now)
        return await repo.claim(ids, now=now, lease_until=lease_until)

    # Repeatable: a claim whose commit was lost left rows `sending` under this very lease,
    # which the repeat cannot take (the reconciler re-queues them after the lease).
    claimed = await retry_on_disconnect(ctx.sessionmaker, work)
    if expired:
        PUSH_SENDS.labels(kind.value, "expired").inc(len(expired))
    return claimed


async def send_all(
    ctx: WorkerContext, kind: Kind, items: Sequence[Claimed]
) -> list[tuple[Claimed, Outcome]]:
    """Send with bounded concurrency under the shared rate limit; stop early on 45009.

    A send's task is created only once it holds a slot (and a token): hundreds of tasks
    parked on the semaphore cost a wake-up each and stay in memory for nothing. Each send is
    cut after `send_timeout_s` (one timer for the batch, `SendDeadlines`).
    """
    semaphore = ctx.slots()
    deadlines = SendDeadlines(ctx.config.send_timeout_s)
    results: dict[int, Outcome] = {}

    async def send_one(item: Claimed) -> None:
        task = deadlines.start()
        try:
            try:
                outcome = await _send_guarded(ctx, kind, item)
            except asyncio.CancelledError:
                if not deadlines.cut(task):
                    raise  # the worker itself is being cancelled
                outcome = timed_out(custom=kind is Kind.CS)
            if outcome.kind is OutcomeKind.PAUSE:
                ctx.quota_gone_until[kind] = next_beijing_midnight(ctx.clock.now())
            results[item.id] = outcome
        finally:
            deadlines.finish(task)
            semaphore.release()

    tasks: list[asyncio.Task[None]] = []
    waiting = list(items)
    try:
        while waiting and not ctx.quota_gone(kind):
            granted = await _take_tokens(ctx, kind, len(waiting))
            started, waiting = waiting[:granted], waiting[granted:]
            for position, item in enumerate(started):
                await semaphore.acquire()
                if ctx.quota_gone(kind):  # another send hit 45009 meanwhile
                    semaphore.release()
                    waiting = started[position:] + waiting
                    break
                tasks.append(asyncio.create_task(send_one(item)))
        for item in waiting:  # never started: the quota ran out meanwhile
            results[item.id] = Outcome(OutcomeKind.PAUSE)
        await asyncio.gather(*tasks)
    finally:
        deadlines.close()
    return [(item, results[item.id]) for item in items]


class SendDeadlines:
    """`send_timeout_s` for every send of a batch with one timer, not one per send.

    Every send gets the same timeout, so deadlines fall in start order: the timer sleeps
    until the oldest running send's deadline, cancels each send past its own and re-arms
    for the next. A cancelled send learns from `cut` that the deadline (not a stopping
    worker) cancelled it, and records a timed-out send (retried with backoff).
    """

    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._running: dict[asyncio.Task[Any], float] = {}  # start order = deadline order
        self._cut: set[asyncio.Task[Any]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> asyncio.Task[Any]:
        """Called by the send's own task when it starts; returns that task."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("SendDeadlines.start outside a task")
        loop = asyncio.get_running_loop()
        self._running[task] = loop.time() + self._timeout_s
        if self._timer is None:
            self._timer = loop.call_at(self._running[task], self._expire)
        return task

    def finish(self, task: asyncio.Task[Any]) -> None:
        self._running.pop(task, None)
        self._cut.discard(task)

    def cut(self, task: asyncio.Task[Any]) -> bool:
        """Whether the deadline cancelled `task` (then the cancellation is absorbed)."""
        if task not in self._cut:
            return False
        task.uncancel()
        return True

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        for task, deadline in list(self._running.items()):
            if deadline > now:
                self._timer = loop.call_at(deadline, self._expire)
                return
            del self._running[task]
            self._cut.add(task)
            task.cancel()


async def _take_tokens(ctx: WorkerContext, kind: Kind, want: int) -> int:
    if ctx.limiter is None or kind is Kind.CS:
        return want
    while True:
        grant = await ctx.limiter.acquire(want)
        if grant.granted:
            return grant.granted
        await ctx.sleep(grant.wait_s)


async def _send_guarded(ctx: WorkerContext, kind: Kind, item: Claimed) -> Outcome:
    try:  # no timeout here: `SendDeadlines` bounds the send
        if kind is Kind.CS:
            return await send_custom(ctx.wechat, item)
        return await send_template(ctx.wechat, item)
    except Exception as exc:  # worker edge: one bad send must not sink the batch
        log.exception("push.send.crashed", extra={"kind": kind.value, "item_id": item.id})
        return Outcome(OutcomeKind.RETRY, error=WeChatError(f"unexpected {type(exc).__name__}"))


async def record_outcomes(
    ctx: WorkerContext, kind: Kind, outcomes: Sequence[tuple[Claimed, Outcome]]
) -> BatchResult:
    """One transaction for the whole batch's outcomes (fenced by each claim's lease)."""
    now = ctx.clock.now()
    result = BatchResult()
    if any(o.kind is OutcomeKind.PAUSE for _, o in outcomes):
        result.pause_until = next_beijing_midnight(now)
    transitions = [decide(ctx, item, outcome, now=now, result=result) for item, outcome in outcomes]

    async def work(session: AsyncSession) -> list[int]:
        return await queue_repository(session, cs=kind is Kind.CS).record(transitions, now=now)

    # Repeatable: fenced by status and lease, a repeat after a lost commit matches no row.
    await retry_on_disconnect(ctx.sessionmaker, work)
    if kind is Kind.DELIVERY and result.sent_msgids:
        # Only after the commit: a receipt handler that found no row stashes the receipt and
        # then looks again, so each early receipt is applied by one side or the other.
        await _apply_early_receipts(ctx, result.sent_msgids, now=now)
    _observe(kind, outcomes, now=now)
    return result


def decide(
    ctx: WorkerContext, item: Claimed, outcome: Outcome, *, now: datetime, result: BatchResult
) -> Transition:
    """The row's next status for an outcome: sent, retry later, paused, failed (maybe dead)."""
    attempt = item.attempts + 1

    def to(status: str, attempts: int, **extra: Any) -> Transition:
        return Transition(
            id=item.id,
            lease_until=item.lease_until,
            errcode=outcome.errcode,
            status=status,
            attempts=attempts,
            **extra,
        )

    if outcome.kind is OutcomeKind.SENT:
        if outcome.msgid is not None:
            result.sent_msgids.append(outcome.msgid)
        return to(DeliveryStatus.SENT, attempt, msgid=outcome.msgid)
    error = outcome.error_text
    if outcome.kind is OutcomeKind.PAUSE:
        until = result.pause_until or next_beijing_midnight(now)
        # Not the fan's fault and not a real attempt: wait for the quota reset.
        return to(
            DeliveryStatus.PENDING,
            item.attempts,
            error=error,
            next_attempt_at=until,
            detail="paused: daily quota reached",
        )
    if outcome.kind is OutcomeKind.RETRY and outcome.error is not None:
        decision = send_retry_decision(
            outcome.error, attempt, base_delay_s=ctx.config.retry_base_delay_s
        )
        if decision.retry:
            delay = decision.delay_s * (0.5 + ctx.rng.random())  # jitter: 0.5x .. 1.5x
            return to(
                DeliveryStatus.PENDING,
                attempt,
                error=error,
                next_attempt_at=now + timedelta(seconds=delay),
                detail=f"retry in {delay:.1f}s",
            )
        result.dead.append(item.id)
        detail = f"retries exhausted: {DEAD_LETTERED}"
    elif outcome.error is not None and outcome.error.kind is ErrorKind.CONFIGURATION:
        result.dead.append(item.id)  # ops can fix the account/template, then re-drive
        detail = f"configuration error: {DEAD_LETTERED}"
    else:
        detail = "permanent error"
    return to(DeliveryStatus.FAILED, attempt, error=error, detail=detail)


def send_retry_decision(error: WeChatError, attempt: int, *, base_delay_s: float) -> RetryDecision:
    """`retry_decision`, except that a token error still standing after the client's own
    refresh-and-retry (a revocation burst, another process refreshing at the same moment) is
    transient for a send: back off and retry it like a retryable error, never fail the fan."""
    if error.kind is ErrorKind.TOKEN:
        if attempt >= MAX_ATTEMPTS[ErrorKind.RETRYABLE]:
            return RetryDecision(retry=False, delay_s=0.0)
        return RetryDecision(retry=True, delay_s=base_delay_s * 2 ** (attempt - 1))
    return retry_decision(error, attempt, base_delay_s=base_delay_s)


async def _apply_early_receipts(
    ctx: WorkerContext, msgids: Sequence[int], *, now: datetime
) -> None:
    early = await take_early_receipts(ctx.redis, msgids)
    if not early:
        return
    async with unit_of_work(ctx.sessionmaker) as session:
        for msgid, (ok, status) in early.items():
            await handle_template_receipt(session, msg_id=msgid, ok=ok, status=status, now=now)


def _observe(kind: Kind, outcomes: Sequence[tuple[Claimed, Outcome]], *, now: datetime) -> None:
    """Metrics of a batch: one counter update per label set, not per send (the hot path)."""
    sends: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    lag = PUSH_LAG.labels(kind.value)
    for item, outcome in outcomes:
        sends[outcome.kind.value] += 1
        if outcome.kind is OutcomeKind.SENT:
            lag.observe(max(0.0, (now - item.created_at).total_seconds()))
        elif outcome.error is not None:
            errors[str(outcome.errcode or outcome.error.kind)] += 1
    for outcome_kind, count in sends.items():
        PUSH_SENDS.labels(kind.value, outcome_kind).inc(count)
    for code, count in errors.items():
        PUSH_ERRORS.labels(kind.value, code).inc(count)


async def after_commit(ctx: WorkerContext, kind: Kind, result: BatchResult) -> None:
    """Redis side effects of a committed batch: dead letters and the quota pause."""
    if result.dead:
        await stream.push_dead_letters(ctx.redis, kind, result.dead)
        log.warning("push.dead_lettered", extra={"kind": kind.value, "count": len(result.dead)})
    if result.pause_until is not None:
        await pause(ctx.redis, kind, until=result.pause_until, now=ctx.clock.now())


async def pause(redis: Redis, kind: Kind, *, until: datetime, now: datetime) -> None:
    """Stop every worker sending this kind until `until` (45009: the Beijing-midnight reset)."""
    until_ms = int(until.timestamp() * 1000)
    ttl_ms = max(1, int((until - now).total_seconds() * 1000))  # relative: the clock is injected
    await redis.set(PAUSE_KEYS[kind], str(until_ms), px=ttl_ms)
    log.warning("push.paused", extra={"kind": kind.value, "until": until.isoformat()})


async def paused_until(ctx: WorkerContext, kind: Kind) -> datetime | None:
    raw = await ctx.redis.get(PAUSE_KEYS[kind])
    if raw is None:
        return None
    until = datetime.fromtimestamp(int(raw) / 1000, UTC)
    return until if until > ctx.clock.now() else None


async def heartbeat(ctx: WorkerContext) -> None:
    key = f"{HEARTBEAT_PREFIX}{ctx.consumer}"
    await ctx.redis.set(key, str(int(ctx.clock.timestamp())), ex=ctx.config.heartbeat_ttl_s)


async def run_worker(ctx: WorkerContext, stop: asyncio.Event) -> None:
    """The worker loop: on stop, finish the batches in hand and start no other.

    Up to `batches_in_flight` batches run at once (one pool of send slots). A batch that
    fails stops the reading; the others in hand finish, then the error reaches the supervisor
    (which restarts the loop): the failed batch's entries stay pending for XAUTOCLAIM.
    """
    await stream.ensure_groups(ctx.redis)
    log.info("push.worker.started", extra={"consumer": ctx.consumer})
    in_flight: set[asyncio.Task[None]] = set()
    try:
        while not stop.is_set():
            if len(in_flight) >= max(1, ctx.config.batches_in_flight):
                await settle_batches(in_flight, asyncio.FIRST_COMPLETED)
                continue
            entries = await read_entries(ctx)
            if entries:
                in_flight.add(asyncio.create_task(handle_batch(ctx, entries)))
            elif in_flight:
                await settle_batches(in_flight, asyncio.FIRST_COMPLETED)
            elif not ctx.block_ms:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.2)
    except asyncio.CancelledError:
        for task in in_flight:  # cancelled past the grace period: entries stay pending
            task.cancel()
        raise
    finally:
        await settle_batches(in_flight, asyncio.ALL_COMPLETED)
    log.info("push.worker.stopped", extra={"consumer": ctx.consumer})


async def settle_batches(in_flight: set[asyncio.Task[None]], when: str) -> None:
    """Wait for some (or all) batches in flight; re-raise the first failure once all are done."""
    if not in_flight:
        return
    done, _ = await asyncio.wait(in_flight, return_when=when)
    in_flight.difference_update(done)
    failures = [e for t in done if not t.cancelled() and (e := t.exception()) is not None]
    if failures:
        if in_flight:
            await asyncio.wait(in_flight)
            in_flight.clear()
        raise failures[0]


def start_loops(
    supervisor: Supervisor,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    wechat: PushWeChat,
    clock: Clock,
    config: PushConfig | None = None,
) -> WorkerContext:
    """Start worker, relay and reconciler under the supervisor (its stop event ends them)."""
    config = config or PushConfig()
    # Without a clock, the limiter reads Redis TIME: one notion of now for every worker host.
    limiter = RateLimiter(redis, rate_per_s=config.rate_per_s, burst=config.rate_burst)
    ctx = WorkerContext(
        redis=redis,
        sessionmaker=sessionmaker,
        wechat=wechat,
        clock=clock,
        config=config,
        limiter=limiter,
    )
    supervisor.start("push.worker", partial(run_worker, ctx))
    supervisor.start(
        "push.relay", partial(run_relay, sessionmaker, redis, clock=clock, config=config)
    )
    supervisor.start(
        "push.reconciler",
        partial(run_reconciler, sessionmaker, redis, clock=clock, config=config),
    )
    return ctx
