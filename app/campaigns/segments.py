"""Fan segments derived from data and behaviour: bound customers, engaged prospects,
registered staff, suspected bonus hunters and dormant fans.

Recomputed incrementally for the fans of each recorded webhook batch (a recorder listener),
swept periodically for what time alone changes (dormancy) or what happens off the webhook
(bindings), written to the alerts' `segment_member` (push targets) and mirrored to WeChat
tags through the `segment_change` outbox so conditional menus follow them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import service as accounts_service
from app.alerts import service as alerts_service
from app.campaigns import constants as c
from app.campaigns.errors import SegmentNotFoundError, StaffNotFoundError
from app.campaigns.models import FanSignal, SegmentChange, StaffMember
from app.campaigns.repository import (
    FanSignalRepository,
    SegmentChangeRepository,
    SegmentFeedRepository,
    StaffRepository,
    staff_openids_among,
)
from app.content import constants as content_constants
from app.core.db import insert_ignoring_conflicts, unit_of_work
from app.core.security import mask_openid
from app.core.time import Clock
from app.webhook import service as webhook_service
from app.webhook.schemas import InboundRecord
from app.wechat.client import WeChatClient
from app.wechat.errors import ErrorKind, WeChatError

log = logging.getLogger(__name__)

SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
ALL_SEGMENTS = tuple(c.Segment)


def tag_name(segment: c.Segment) -> str:
    """The WeChat tag a segment is mirrored to."""
    if segment == c.Segment.BOUND_CUSTOMERS:
        return content_constants.BOUND_CUSTOMER_TAG
    return c.SEGMENT_TAGS[segment]


def segments_of(
    signal: FanSignal | None, *, bound: bool, staff: bool, now: datetime
) -> set[c.Segment]:
    """The segments one fan belongs to. Fans who unfollowed belong to none (unreachable)."""
    if signal is not None and not signal.is_subscribed:
        return set()
    found: set[c.Segment] = set()
    if bound:
        found.add(c.Segment.BOUND_CUSTOMERS)
    if staff:
        found.add(c.Segment.REGISTERED_STAFF)
    if signal is None:
        return found
    hunter = signal.risk_score >= c.BONUS_HUNTER_SCORE
    if hunter:
        found.add(c.Segment.BONUS_HUNTERS)
    engaged_since = now - timedelta(days=c.ENGAGED_DAYS)
    engaged = signal.last_engaged_at is not None and signal.last_engaged_at >= engaged_since
    if engaged and not (bound or staff or hunter):
        found.add(c.Segment.ENGAGED_PROSPECTS)
    active_since = now - timedelta(days=c.DORMANT_DAYS)
    if signal.last_active_at is not None and signal.last_active_at < active_since:
        found.add(c.Segment.DORMANT_FANS)
    return found


# -- incremental: the recorder listener ----------------------------------------------------


async def apply_inbound_records(session: AsyncSession, records: Sequence[InboundRecord]) -> None:
    """Update these records' fan signals, flag follow bursts from one scene, and recompute the
    fans' segments (the worker's feed calls it; tests too). Flushes only."""
    if not records:
        return
    now = max(r.received_at for r in records)
    openids = {r.openid for r in records}
    await _ensure_signals(session, openids, now=now)
    signals = await FanSignalRepository(session).by_openids(openids)
    for record in sorted(records, key=lambda r: r.wechat_created_at):
        _apply(signals[record.openid], record, now)
    await session.flush()
    await _flag_follow_bursts(session, [r for r in records if r.event == SUBSCRIBE and r.scene])
    await recompute_segments(session, openids, now=now)


async def _ensure_signals(
    session: AsyncSession, openids: Collection[str], *, now: datetime
) -> None:
    # Concurrent batches (several API processes) may race on a new fan: conflicts are fine.
    dialect = session.get_bind().dialect.name
    stmt = insert_ignoring_conflicts(dialect, FanSignal.__table__, ["openid"])
    rows = [
        {"openid": o, "is_subscribed": True, "risk_score": 0, "risk_reason": "", "updated_at": now}
        for o in sorted(openids)
    ]
    await session.execute(stmt, rows)


def _apply(signal: FanSignal, record: InboundRecord, now: datetime) -> None:
    at = record.wechat_created_at
    if record.event == SUBSCRIBE:
        signal.is_subscribed, signal.followed_at, signal.follow_scene = True, at, record.scene
    elif record.event == UNSUBSCRIBE:
        signal.is_subscribed = False
    else:
        signal.is_subscribed = True  # only followers can message or click
    if record.event in c.ENGAGING_EVENTS:
        signal.last_engaged_at = max(signal.last_engaged_at or at, at)
    signal.last_active_at = max(signal.last_active_at or at, at)
    signal.updated_at = now


async def _flag_follow_bursts(session: AsyncSession, follows: Sequence[InboundRecord]) -> None:
    """Fresh follows in a burst from one scene raise the followers' abuse score."""
    by_scene: dict[str, list[InboundRecord]] = defaultdict(list)
    for record in follows:
        by_scene[record.scene or ""].append(record)
    repo = FanSignalRepository(session)
    for scene, records in by_scene.items():
        latest = max(r.wechat_created_at for r in records)
        start = latest - timedelta(seconds=c.BURST_WINDOW_S)
        count = await repo.count_follows(scene, start=start, end=latest)
        if count < c.BURST_FOLLOWS:
            continue
        log.warning("campaigns.segments.follow_burst", extra={"scene": scene, "follows": count})
        reason = f"burst: {count} follows from scene {scene} in {c.BURST_WINDOW_S}s"
        for record in records:
            if record.wechat_created_at >= start:
                await repo.raise_risk(record.openid, c.RISK_BURST_FOLLOW, reason)
    await session.flush()


# -- recompute -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentDiff:
    added: dict[str, set[str]]
    removed: dict[str, set[str]]

    @property
    def changes(self) -> int:
        return sum(len(v) for v in self.added.values()) + sum(len(v) for v in self.removed.values())


async def recompute_segments(
    session: AsyncSession, openids: Iterable[str], *, now: datetime
) -> SegmentDiff:
    """Bring these fans' derived segment memberships up to date (alerts' `segment_member`)
    and queue the changes for the WeChat tag mirror. Flushes only."""
    wanted_openids = sorted(set(openids))
    signals = await FanSignalRepository(session).by_openids(wanted_openids)
    staff = await staff_openids_among(session, wanted_openids)
    wanted: dict[str, set[str]] = {s.value: set() for s in ALL_SEGMENTS}
    bound = await accounts_service.bound_openids_among(session, wanted_openids)
    for openid in wanted_openids:
        for segment in segments_of(
            signals.get(openid), bound=openid in bound, staff=openid in staff, now=now
        ):
            wanted[segment.value].add(openid)
    current: dict[str, set[str]] = {s.value: set() for s in ALL_SEGMENTS}
    for name, openid in await alerts_service.segment_memberships(
        session, segments=list(current), openids=wanted_openids
    ):
        current[name].add(openid)
    diff = SegmentDiff(
        added={s: wanted[s] - current[s] for s in wanted},
        removed={s: current[s] - wanted[s] for s in wanted},
    )
    await _write(session, diff, now=now)
    return diff


async def _write(session: AsyncSession, diff: SegmentDiff, *, now: datetime) -> None:
    changes: list[SegmentChange] = []
    for segment in diff.added:
        add, remove = diff.added[segment], diff.removed[segment]
        if not add and not remove:
            continue
        await alerts_service.update_segment_members(
            session, segment=segment, add=sorted(add), remove=sorted(remove)
        )
        changes += [SegmentChange(segment=segment, openid=o, op="add", created_at=now) for o in add]
        changes += [
            SegmentChange(segment=segment, openid=o, op="remove", created_at=now) for o in remove
        ]
    if changes:
        session.add_all(changes)
        await session.flush()


async def sweep_segments(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, page: int = 500
) -> int:
    """Recompute every known fan, a page per transaction (dormancy, bindings made off the
    webhook, staff linked later). Returns how many memberships changed."""
    after, changed = "", 0
    while True:
        async with unit_of_work(sessionmaker) as session:
            openids = await FanSignalRepository(session).page_openids(after=after, limit=page)
            if not openids:
                return changed
            changed += (await recompute_segments(session, openids, now=now)).changes
        after = openids[-1]


async def follow_inbound_events_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    batch: int = c.SEGMENT_FEED_BATCH,
    lag_s: float = c.SEGMENT_FEED_LAG_S,
) -> int:
    """One step of the worker's feed: recorded events past the cursor (older than the lag)
    update signals and segments, and the cursor moves in the same transaction."""
    async with unit_of_work(sessionmaker) as session:
        cursor = await SegmentFeedRepository(session).lock()
        rows = await webhook_service.list_records_after(
            session,
            cursor.last_event_id,
            received_before=now - timedelta(seconds=lag_s),
            limit=batch,
        )
        if not rows:
            return 0
        await apply_inbound_records(session, [record for _, record in rows])
        cursor.last_event_id = rows[-1][0]
    return len(rows)


async def segment_feed_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    stop_event: asyncio.Event,
    interval_s: float = c.SEGMENT_FEED_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process): keeps segments current as events arrive, without
    spending the API processes' CPU next to the webhook."""
    while not stop_event.is_set():
        while await follow_inbound_events_once(sessionmaker, now=clock.now()) == (
            c.SEGMENT_FEED_BATCH
        ):
            if stop_event.is_set():
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


async def segment_sweep_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    stop_event: asyncio.Event,
    interval_s: float = c.SEGMENT_SWEEP_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process)."""
    while not stop_event.is_set():
        changed = await sweep_segments(sessionmaker, now=clock.now(), page=c.SEGMENT_SWEEP_PAGE)
        log.info("campaigns.segments.swept", extra={"changes": changed})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


# -- WeChat tag mirror ---------------------------------------------------------------------


async def _tag_ids(wechat: WeChatClient, names: Collection[str]) -> dict[str, int]:
    existing = {str(t.get("name")): int(t["id"]) for t in await wechat.get_tags() if "id" in t}
    for name in sorted(set(names) - set(existing)):
        created = await wechat.create_tag(name)
        existing[name] = int(created["id"])
    return existing


async def mirror_tags_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    wechat: WeChatClient,
    *,
    now: datetime,
    batch: int = c.TAG_MIRROR_BATCH,
) -> int:
    """Send pending segment changes to WeChat tags (50 fans per call, last change per fan
    wins). Returns how many changes were mirrored; transient errors leave them pending."""
    async with unit_of_work(sessionmaker) as session:
        pending = await SegmentChangeRepository(session).pending(limit=batch)
    if not pending:
        return 0
    final: dict[tuple[str, str], str] = {}
    for change in pending:  # ordered by id: the last op per fan and segment is the truth
        final[(change.segment, change.openid)] = change.op
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (segment, openid), op in final.items():
        groups[(tag_name(c.Segment(segment)), op)].append(openid)
    try:
        await _send_groups(wechat, groups)
    except WeChatError as exc:
        if exc.kind != ErrorKind.PERMANENT:
            log.warning("campaigns.segments.tag_mirror_failed", extra={"kind": exc.kind.value})
            return 0
        # An openid WeChat refuses for good (unfollowed, invalid) must not block the outbox.
        log.warning("campaigns.segments.tag_mirror_refused", extra={"error": str(exc)})
    async with unit_of_work(sessionmaker) as session:
        await SegmentChangeRepository(session).mark_mirrored([p.id for p in pending], now)
    return len(pending)


async def _send_groups(wechat: WeChatClient, groups: dict[tuple[str, str], list[str]]) -> None:
    tag_ids = await _tag_ids(wechat, {name for name, _ in groups})
    for (name, op), openids in sorted(groups.items()):
        if op == "add":
            await wechat.tag_users(tag_ids[name], sorted(openids))
        else:
            await wechat.untag_users(tag_ids[name], sorted(openids))


async def tag_mirror_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    wechat: WeChatClient,
    clock: Clock,
    stop_event: asyncio.Event,
    interval_s: float = c.TAG_MIRROR_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process): drain the outbox, then wait."""
    while not stop_event.is_set():
        while await mirror_tags_once(sessionmaker, wechat, now=clock.now()) > 0:
            if stop_event.is_set():
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


# -- ops -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentMembers:
    segment: str
    size: int
    members_masked: list[str]


async def segment_sizes(session: AsyncSession) -> dict[str, int]:
    return await alerts_service.segment_sizes(session, [s.value for s in ALL_SEGMENTS])


async def list_members(
    session: AsyncSession, segment: str, *, limit: int, offset: int
) -> SegmentMembers:
    """A derived segment's members, openids masked."""
    if segment not in {s.value for s in ALL_SEGMENTS}:
        raise SegmentNotFoundError(f"no derived segment {segment!r}")
    size = (await segment_sizes(session))[segment]
    openids = await alerts_service.list_segment_members(
        session, segment=segment, limit=limit, offset=offset
    )
    return SegmentMembers(segment, size, [mask_openid(o) for o in openids])


async def link_staff_openid(
    session: AsyncSession, staff_no: str, *, openid: str, now: datetime
) -> StaffMember:
    """Record a registered staff member's own openid (the `registered_staff` segment)."""
    member = await StaffRepository(session).get_by_staff_no(staff_no)
    if member is None:
        raise StaffNotFoundError(f"no staff member {staff_no}")
    member.openid = openid
    await session.flush()
    await recompute_segments(session, [openid], now=now)
    return member
