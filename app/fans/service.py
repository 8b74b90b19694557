"""Fan lifecycle: follows, unfollows and last activity, applied from recorded webhook batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.fans.models import Fan
from app.fans.repository import FanRepository
from app.webhook.schemas import InboundRecord

SUBSCRIBE = "subscribe"
UNSUBSCRIBE = "unsubscribe"
SCAN = "scan"
# Only these events change a fan; ordinary messages and menu clicks are activity, which the
# append-only inbound_event table already holds (indexed by openid and time). Skipping them
# keeps the per-batch cost of this listener near zero on a busy account.
FAN_EVENTS = frozenset({SUBSCRIBE, UNSUBSCRIBE, SCAN})


async def get_fan(session: AsyncSession, openid: str) -> Fan | None:
    return await FanRepository(session).get_by_openid(openid)


async def apply_inbound_records(session: AsyncSession, records: Sequence[InboundRecord]) -> None:
    """Keep `fan` rows current from one batch of inbound records (the recorder's listener).

    Follows, unfollows and scans are applied in WeChat time order and older-than-known ones
    are ignored, so batches from several instances may arrive in any order. Flushes only.
    """
    relevant = [r for r in records if r.event in FAN_EVENTS]
    if not relevant:
        return
    fans_repo = FanRepository(session)
    openids = {r.openid for r in relevant}
    await fans_repo.ensure_exist(openids)
    fans = {f.openid: f for f in await fans_repo.list_by_openids_for_update(openids)}
    for record in sorted(relevant, key=lambda r: r.wechat_created_at):
        fan = fans.get(record.openid)
        if fan is not None:
            _apply(fan, record)
    await session.flush()


def _apply(fan: Fan, record: InboundRecord) -> None:
    at = record.wechat_created_at
    if fan.last_seen_at is None or at > fan.last_seen_at:
        fan.last_seen_at = at
    if record.event == SUBSCRIBE:
        _subscribed(fan, at, record.scene)
    elif record.event == UNSUBSCRIBE:
        _unsubscribed(fan, at)
    elif fan.last_subscribed_at is None and fan.unsubscribed_at is None:
        # A scan by a fan we never saw follow (followed before this service existed): SCAN
        # only comes from followers.
        fan.is_subscribed = True


def _subscribed(fan: Fan, at: datetime, scene: str | None) -> None:
    if fan.first_subscribed_at is None or at < fan.first_subscribed_at:
        fan.first_subscribed_at = at
    if fan.last_subscribed_at is not None and at <= fan.last_subscribed_at:
        return  # a follow we already applied (or an older one arriving late)
    fan.last_subscribed_at = at
    fan.subscribe_count = (fan.subscribe_count or 0) + 1
    fan.subscribe_scene = scene
    fan.is_subscribed = fan.unsubscribed_at is None or at >= fan.unsubscribed_at


def _unsubscribed(fan: Fan, at: datetime) -> None:
    if fan.unsubscribed_at is not None and at <= fan.unsubscribed_at:
        return
    fan.unsubscribed_at = at
    fan.is_subscribed = fan.last_subscribed_at is not None and fan.last_subscribed_at > at
