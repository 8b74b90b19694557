"""Attribution from recorded webhook batches: follows with a scene and SCANs of channel QR
codes become channel touches; each person keeps a first-touch and a last-touch channel.

Runs as a recorder listener, inside the batch's transaction and off the request path.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.models import Channel, ChannelTouch, Person
from app.campaigns.repository import (
    ChannelRepository,
    ConversionRepository,
    PersonRepository,
    TouchRepository,
)
from app.webhook.schemas import InboundRecord

log = logging.getLogger(__name__)

SUBSCRIBE = "subscribe"
SCAN = "scan"


def followed_event_id(openid: str) -> str:
    """A fan becomes a fan once: re-follows do not count again in the funnel."""
    return f"followed:{openid}"


def touch_person(person: Person, channel: Channel, at: datetime) -> None:
    """Move the person's first/last touch if `at` is earlier/later than what is known.

    Inactive channels (a staff leaver, a closed campaign) are recorded but attribute nothing.
    """
    if not channel.is_active:
        return
    if person.first_touch_at is None or at < person.first_touch_at:
        person.first_channel_id, person.first_touch_at = channel.id, at
    if person.last_touch_at is None or at >= person.last_touch_at:
        person.last_channel_id, person.last_touch_at = channel.id, at


def new_touch(
    channel: Channel, kind: c.TouchKind, at: datetime, openid: str | None
) -> ChannelTouch:
    return ChannelTouch(
        channel_id=channel.id,
        staff_member_id=channel.staff_member_id,
        openid=openid,
        kind=kind.value,
        occurred_at=at,
    )


async def apply_inbound_records(session: AsyncSession, records: Sequence[InboundRecord]) -> None:
    """Recorder listener: first follows become `followed` conversions; follows and scans
    with a channel's scene become touches. Flushes only."""
    relevant = [r for r in records if r.event in (SUBSCRIBE, SCAN)]
    if not relevant:
        return
    now = max(r.received_at for r in relevant)
    persons_repo = PersonRepository(session)
    await persons_repo.ensure_openids({r.openid for r in relevant}, now=now)
    persons = await persons_repo.by_openids({r.openid for r in relevant})
    await _record_follows(session, [r for r in relevant if r.event == SUBSCRIBE], persons)
    channels = await ChannelRepository(session).by_scenes({r.scene for r in relevant if r.scene})
    touches: list[ChannelTouch] = []
    for record in sorted(relevant, key=lambda r: r.wechat_created_at):
        channel = channels.get(record.scene or "")
        person = persons.get(record.openid)
        if channel is None or person is None:
            continue  # a plain follow, or a scene that is not a channel (another feature's QR)
        kind = c.TouchKind.FOLLOW if record.event == SUBSCRIBE else c.TouchKind.SCAN
        touches.append(new_touch(channel, kind, record.wechat_created_at, record.openid))
        touch_person(person, channel, record.wechat_created_at)
    if touches:
        await TouchRepository(session).add_many(touches)
    await session.flush()


async def _record_follows(
    session: AsyncSession, follows: list[InboundRecord], persons: dict[str, Person]
) -> None:
    earliest: dict[str, InboundRecord] = {}
    for record in follows:
        known = earliest.get(record.openid)
        if known is None or record.wechat_created_at < known.wechat_created_at:
            earliest[record.openid] = record
    rows = [
        {
            "event_id": followed_event_id(openid),
            "person_id": persons[openid].id,
            "kind": c.ConversionKind.FOLLOWED.value,
            "occurred_at": record.wechat_created_at,
            "channel_id": None,
            "received_at": record.received_at,
        }
        for openid, record in earliest.items()
        if openid in persons
    ]
    conversions = ConversionRepository(session)
    await conversions.insert_ignoring_duplicates(rows)
    for row in rows:  # an older follow from a late batch moves the conversion earlier
        await conversions.move_earlier(str(row["event_id"]), row["occurred_at"])  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class FanAttribution:
    openid: str
    first_channel: str | None
    first_touch_at: datetime | None
    last_channel: str | None
    last_touch_at: datetime | None
    touches: list[tuple[str, str, datetime]]  # (channel code, touch kind, when)


async def get_attribution(session: AsyncSession, openid: str) -> FanAttribution | None:
    """First-touch and last-touch channels of a fan, with the touches behind them."""
    person = await PersonRepository(session).get_by_openid(openid)
    if person is None:
        return None
    touches = await TouchRepository(session).list_for_openid(openid, limit=500)
    ids = {t.channel_id for t in touches}
    ids |= {i for i in (person.first_channel_id, person.last_channel_id) if i is not None}
    channels = await ChannelRepository(session).by_ids(ids)

    def code(channel_id: int | None) -> str | None:
        return channels[channel_id].code if channel_id in channels else None

    return FanAttribution(
        openid=openid,
        first_channel=code(person.first_channel_id),
        first_touch_at=person.first_touch_at,
        last_channel=code(person.last_channel_id),
        last_touch_at=person.last_touch_at,
        touches=[(channels[t.channel_id].code, t.kind, t.occurred_at) for t in touches],
    )
