"""Dashboard figures and fan lookups for the console (read-only, fan views audited)."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from datetime import datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts_service
from app.alerts import service as alerts_service
from app.core.redis import Redis
from app.core.security import mask_openid
from app.core.time import BEIJING
from app.ops.constants import (
    DASHBOARD_DAYS,
    DEFAULT_TEMPLATE_DAILY_QUOTA,
    DELIVERY_HISTORY_LIMIT,
    FAN_SEARCH_LIMIT,
    QUOTA_CACHE_KEY,
    QUOTA_CACHE_S,
    QUOTA_FAILURE_CACHE_S,
    QUOTA_TIMEOUT_S,
)
from app.ops.errors import FanNotFoundError, InvalidQueryError
from app.ops.reporting import FanRow, ReportingRepository
from app.ops.repository import DraftRepository
from app.ops.schemas import (
    CountRow,
    DashboardRead,
    DayFollows,
    DeadLettersRead,
    FanDetail,
    FanSummary,
    Principal,
    QueueRead,
    QuotaRead,
)
from app.ops.service import record_audit
from app.push import service as push_service
from app.push.constants import DEAD_LETTER_KEY, STREAMS
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatError

log = logging.getLogger(__name__)
TEMPLATE_SEND_PATH = "/cgi-bin/message/template/send"
OPENID_QUERY = re.compile(r"^[A-Za-z0-9_-]{6,64}$")
ACCOUNT_TAIL_QUERY = re.compile(r"^\**([0-9]{4})$")


def beijing_day_start(now: datetime, days_back: int = 0) -> datetime:
    local = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    return (local - timedelta(days=days_back)).astimezone(now.tzinfo)


async def quota_status(
    session: AsyncSession, *, redis: Redis, wechat: WeChatClient, now: datetime
) -> QuotaRead:
    """Today's template-send quota: WeChat's own figure (getApiQuota, cached in Redis for
    QUOTA_CACHE_S), else an estimate from the sends WeChat accepted since Beijing midnight."""
    live = await _live_quota(redis, wechat, now=now)
    if live is not None:
        return live
    used = await ReportingRepository(session).count_sent_since(beijing_day_start(now))
    limit = DEFAULT_TEMPLATE_DAILY_QUOTA
    return QuotaRead(
        daily_limit=limit, used=used, remaining=max(0, limit - used), source="estimate"
    )


async def _live_quota(redis: Redis, wechat: WeChatClient, *, now: datetime) -> QuotaRead | None:
    cached = await _cached_quota(redis)
    if cached is not None:
        return None if cached.get("unavailable") else QuotaRead.model_validate(cached)
    try:
        async with asyncio.timeout(QUOTA_TIMEOUT_S):
            quota = await wechat.get_api_quota(TEMPLATE_SEND_PATH)
    except (WeChatError, TimeoutError) as exc:
        log.warning("ops.dashboard.quota_unavailable", extra={"error": str(exc)})
        await _cache_quota(redis, {"unavailable": True}, ttl_s=QUOTA_FAILURE_CACHE_S)
        return None
    live = QuotaRead(
        daily_limit=quota.daily_limit,
        used=quota.used,
        remaining=quota.remain,
        source="wechat",
        as_of=now,
    )
    await _cache_quota(redis, live.model_dump(mode="json"), ttl_s=QUOTA_CACHE_S)
    return live


async def _cached_quota(redis: Redis) -> dict[str, Any] | None:
    try:
        raw = await redis.get(QUOTA_CACHE_KEY)
    except RedisError:
        log.warning("ops.dashboard.redis_unavailable", exc_info=True)
        return None
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def _cache_quota(redis: Redis, value: dict[str, Any], *, ttl_s: int) -> None:
    try:
        await redis.set(QUOTA_CACHE_KEY, json.dumps(value), ex=ttl_s)
    except RedisError:
        log.warning("ops.dashboard.redis_unavailable", exc_info=True)


async def queue_status(session: AsyncSession, redis: Redis, *, now: datetime) -> QueueRead:
    lanes: dict[str, int] = {}
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for stream in STREAMS.values():
                pipe.xlen(stream)
            counts = await pipe.execute()
        lanes = {lane: int(n) for lane, n in zip(STREAMS, counts, strict=True)}
    except RedisError:
        log.warning("ops.dashboard.redis_unavailable", exc_info=True)
    waiting, oldest = await ReportingRepository(session).oldest_waiting(now=now)
    lag = (now - oldest).total_seconds() if oldest is not None else None
    dead = await push_service.count_dead_letters(session)
    return QueueRead(lanes=lanes, waiting=waiting, lag_seconds=lag, dead_letters=dead)


# ---- dead letters ----


async def dead_letters(
    session: AsyncSession, redis: Redis, *, limit: int, offset: int
) -> DeadLettersRead:
    """The list reads PostgreSQL (failed rows dead-lettered by the worker): it survives Redis
    losing its data, and every item in it can be re-driven. The Redis list's length is shown
    beside it (it also holds dead-lettered CS replies, which PostgreSQL cannot tell apart)."""
    page = await push_service.list_dead_letters(session, limit=limit, offset=offset)
    try:
        redis_list: int | None = int(await redis.llen(DEAD_LETTER_KEY))
    except RedisError:
        log.warning("ops.dashboard.redis_unavailable", exc_info=True)
        redis_list = None
    return DeadLettersRead(dead_letters=page.total, items=page.items, redis_list=redis_list)


async def redrive_dead_letter(
    session: AsyncSession, *, actor: Principal, delivery_id: int, now: datetime
) -> None:
    """One dead-lettered template send back to the queue, audited in the same transaction."""
    before = await push_service.redrive_dead_letter(session, delivery_id, now=now)
    await record_audit(
        session,
        actor=actor,
        action="push.dead_letter.redrive",
        target_type="delivery",
        target_id=delivery_id,
        before=before.model_dump(mode="json"),
        after={"status": "pending", "attempts": 0},
        now=now,
    )


async def follows_per_day(session: AsyncSession, *, now: datetime) -> list[DayFollows]:
    starts = [beijing_day_start(now, back) for back in range(DASHBOARD_DAYS - 1, -1, -1)]
    rows = await ReportingRepository(session).follows_per_day(starts)
    days = [
        DayFollows(day=s.astimezone(BEIJING).strftime("%Y-%m-%d"), follows=0, unfollows=0)
        for s in starts
    ]
    for index, event, count in rows:
        if 0 <= index < len(days):
            field = "follows" if event == "subscribe" else "unfollows"
            setattr(days[index], field, getattr(days[index], field) + count)
    return days


async def build_dashboard(
    session: AsyncSession,
    *,
    redis: Redis,
    wechat: WeChatClient,
    now: datetime,
) -> DashboardRead:
    """Everything the dashboard page draws, in one response."""
    reports = ReportingRepository(session)
    today = beijing_day_start(now)
    sends = await reports.sends_by_type_and_status(since=today)
    failures = await reports.failure_codes(since=today)
    return DashboardRead(
        generated_at=now,
        sends_today=[CountRow(label=t, status=s, count=n) for t, s, n in sends],
        failure_codes=[
            CountRow(label="none" if code is None else str(code), count=n) for code, n in failures
        ],
        quota=await quota_status(session, redis=redis, wechat=wechat, now=now),
        queue=await queue_status(session, redis, now=now),
        follows=await follows_per_day(session, now=now),
        subscribed_fans=await reports.count_subscribed_fans(),
        bound_fans=await reports.count_active_bindings(),
        open_drafts=await DraftRepository(session).count_open(),
    )


# ---- fans ----


def _summary(row: FanRow) -> FanSummary:
    return FanSummary(
        id=row.id,
        openid_masked=mask_openid(row.openid),
        is_subscribed=row.is_subscribed,
        last_subscribed_at=row.last_subscribed_at,
        last_seen_at=row.last_seen_at,
    )


async def search_fans(
    session: AsyncSession, *, actor: Principal, query: str, now: datetime
) -> list[FanSummary]:
    """By full openid or by the last four digits of a bound account (`****1234`). Audited."""
    query = query.strip()
    tail = ACCOUNT_TAIL_QUERY.match(query)
    if tail is None and not OPENID_QUERY.match(query):
        raise InvalidQueryError("search by a full openid or an account's last four digits")
    rows = await ReportingRepository(session).search_fans(
        openid=None if tail else query,
        account_tail=tail.group(1) if tail else None,
        limit=FAN_SEARCH_LIMIT,
    )
    shown = mask_openid(query) if tail is None else f"****{tail.group(1)}"
    await record_audit(
        session,
        actor=actor,
        action="fan.search",
        target_type="fan",
        after={"query": shown, "results": len(rows)},
        now=now,
    )
    return [_summary(r) for r in rows]


async def view_fan(
    session: AsyncSession, *, actor: Principal, fan_id: int, now: datetime
) -> FanDetail:
    """A fan's subscriptions, bindings and delivery history, masked. The view is audited."""
    reports = ReportingRepository(session)
    row = await reports.get_fan(fan_id)
    if row is None:
        raise FanNotFoundError(fan_id)
    bindings = await accounts_service.list_bindings(session, openid=row.openid)
    preferences = await alerts_service.get_preferences(session, openid=row.openid)
    watchlist = await alerts_service.list_watchlist(session, openid=row.openid)
    deliveries = await reports.deliveries_of(row.openid, limit=DELIVERY_HISTORY_LIMIT)
    await record_audit(
        session, actor=actor, action="fan.view", target_type="fan", target_id=fan_id, now=now
    )
    return FanDetail(
        **_summary(row).model_dump(),
        first_subscribed_at=row.first_subscribed_at,
        unsubscribed_at=row.unsubscribed_at,
        subscribe_scene=row.subscribe_scene,
        bindings=[_binding(b) for b in bindings],
        preferences=_preferences(preferences.model_dump(mode="json")),
        watchlist=[w.model_dump(mode="json") for w in watchlist],
        deliveries=deliveries,
    )


def _binding(binding: Any) -> dict[str, Any]:
    return {
        "account_no_masked": binding.account_no_masked,
        "account_type": binding.account_type,
        "is_default": binding.is_default,
        "bound_at": binding.bound_at,
    }


def _preferences(values: dict[str, Any]) -> dict[str, Any]:
    values.pop("openid", None)  # the page shows the masked form only
    return values
