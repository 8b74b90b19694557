"""Conversion events posted back by brokerage systems (app activated, account opened, first
trade), linked to persons by openid, signed fan reference, unionid, phone hash or account
reference. Identifiers that meet in one event merge their persons (unless they conflict)."""

from __future__ import annotations

import logging
from datetime import datetime

import pydantic
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.attribution import new_touch, touch_person
from app.campaigns.errors import InvalidConversionError
from app.campaigns.links import read_fan_ref
from app.campaigns.models import Channel, Person
from app.campaigns.repository import (
    ChannelRepository,
    ConversionRepository,
    PersonRepository,
    TouchRepository,
)
from app.campaigns.schemas import ConversionBatch, ConversionIn, ConversionsAccepted

log = logging.getLogger(__name__)
IDENTIFIERS = ("openid", "unionid", "phone_hash", "account_ref")


def parse_batch(body: bytes) -> ConversionBatch:
    try:
        return ConversionBatch.model_validate_json(body)
    except pydantic.ValidationError as exc:
        errors = exc.errors()
        if not errors:
            raise InvalidConversionError("invalid body") from None
        where = ".".join(str(p) for p in errors[0]["loc"])
        raise InvalidConversionError(f"{where}: {errors[0]['msg']}") from None


async def ingest_conversions(
    session: AsyncSession, *, body: bytes, secret: str, now: datetime
) -> ConversionsAccepted:
    """Store new events (an `event_id` seen before is a duplicate, not an error). Flushes."""
    batch = parse_batch(body)
    conversions = ConversionRepository(session)
    seen = await conversions.existing_event_ids(e.event_id for e in batch.events)
    channels = {
        ch.code: ch
        for code in {e.channel for e in batch.events if e.channel}
        if (ch := await ChannelRepository(session).get_by_code(code)) is not None
    }
    accepted = duplicates = linked = 0
    for event in batch.events:
        if event.event_id in seen:
            duplicates += 1
            continue
        seen.add(event.event_id)
        person = await _store(session, event, secret=secret, now=now, channels=channels)
        accepted += 1
        linked += person.openid is not None
    log.info(
        "campaigns.conversions.ingested",
        extra={"accepted": accepted, "duplicates": duplicates, "linked": linked},
    )
    return ConversionsAccepted(accepted=accepted, duplicates=duplicates, linked_to_fans=linked)


def identifiers_of(event: ConversionIn, *, secret: str) -> dict[str, str]:
    """The event's identifiers; a valid fan reference stands for the openid it names."""
    found = {name: getattr(event, name) for name in IDENTIFIERS if getattr(event, name)}
    if "openid" not in found and (openid := read_fan_ref(secret, event.fan_ref)) is not None:
        found["openid"] = openid
    if not found:
        raise InvalidConversionError(f"event {event.event_id}: the fan_ref is not valid")
    return found


async def _store(
    session: AsyncSession,
    event: ConversionIn,
    *,
    secret: str,
    now: datetime,
    channels: dict[str, Channel],
) -> Person:
    identifiers = identifiers_of(event, secret=secret)
    for attempt in (1, 2):
        try:
            async with session.begin_nested():
                person = await resolve_person(session, identifiers, now=now)
                await _insert_event(session, event, person, now=now, channels=channels)
                return person
        except IntegrityError:
            if attempt == 2:
                raise
            # Another request created a person with one of these identifiers meanwhile.
            log.info("campaigns.conversions.person_race", extra={"event_id": event.event_id})
    raise AssertionError("unreachable")


async def _insert_event(
    session: AsyncSession,
    event: ConversionIn,
    person: Person,
    *,
    now: datetime,
    channels: dict[str, Channel],
) -> None:
    channel = channels.get(event.channel or "")
    row = {
        "event_id": event.event_id,
        "person_id": person.id,
        "kind": event.kind.value,
        "occurred_at": event.occurred_at,
        "channel_id": channel.id if channel is not None else None,
        "received_at": now,
    }
    await ConversionRepository(session).insert_ignoring_duplicates([row])
    if channel is not None:
        touch = new_touch(channel, c.TouchKind.CONVERSION, event.occurred_at, person.openid)
        await TouchRepository(session).add_many([touch])
        touch_person(person, channel, event.occurred_at)
        await session.flush()


def _conflicts(a: Person, b: Person) -> bool:
    return any(
        getattr(a, n) is not None and getattr(b, n) is not None and getattr(a, n) != getattr(b, n)
        for n in IDENTIFIERS
    )


async def resolve_person(
    session: AsyncSession, identifiers: dict[str, str], *, now: datetime
) -> Person:
    """The person these identifiers name, created or merged as needed. Flushes."""
    repo = PersonRepository(session)
    matches = await repo.matching(identifiers)
    if not matches:
        return await repo.add(Person(**identifiers, created_at=now))
    wanted = identifiers.get("openid")
    survivor = next((p for p in matches if wanted and p.openid == wanted), None)
    survivor = survivor or next((p for p in matches if p.openid), matches[0])
    adopted: dict[str, str] = {}
    for other in matches:
        if other is survivor or _conflicts(survivor, other):
            continue  # e.g. two openids sharing a phone hash: kept apart, not guessed
        adopted |= {n: getattr(other, n) for n in IDENTIFIERS if getattr(other, n) is not None}
        _absorb_touches(survivor, other)
        await repo.merge_into(survivor.id, other.id)
        session.expunge(other)
        log.info("campaigns.person.merged", extra={"survivor": survivor.id, "merged": other.id})
    taken = {
        (n, getattr(p, n))
        for p in matches
        if p is not survivor and p in session
        for n in IDENTIFIERS
    }
    for name, value in (identifiers | adopted).items():
        if getattr(survivor, name) is None and (name, value) not in taken:
            setattr(survivor, name, value)
    await session.flush()
    return survivor


def _absorb_touches(survivor: Person, other: Person) -> None:
    if other.first_touch_at is not None and (
        survivor.first_touch_at is None or other.first_touch_at < survivor.first_touch_at
    ):
        survivor.first_channel_id, survivor.first_touch_at = (
            other.first_channel_id,
            other.first_touch_at,
        )
    if other.last_touch_at is not None and (
        survivor.last_touch_at is None or other.last_touch_at > survivor.last_touch_at
    ):
        survivor.last_channel_id, survivor.last_touch_at = (
            other.last_channel_id,
            other.last_touch_at,
        )
