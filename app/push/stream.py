"""Redis Streams plumbing: one stream per lane, one consumer group, entries carry ids only."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from app.core.redis import Redis
from app.push.constants import (
    CS_LANE,
    DEAD_LETTER_KEY,
    ENTRY_FIELD_IDS,
    GROUP,
    LANES,
    STREAMS,
    Kind,
)

log = logging.getLogger(__name__)
LANE_OF_STREAM = {name.encode(): lane for lane, name in STREAMS.items()}


@dataclass(frozen=True, slots=True)
class StreamEntry:
    lane: str
    entry_id: bytes
    ids: tuple[int, ...]

    @property
    def stream(self) -> str:
        return STREAMS[self.lane]

    @property
    def kind(self) -> Kind:
        return Kind.CS if self.lane == CS_LANE else Kind.DELIVERY


def kind_of_lane(lane: str) -> Kind:
    return Kind.CS if lane == CS_LANE else Kind.DELIVERY


async def ensure_groups(redis: Redis) -> None:
    """Create the group on every lane (from the start of the stream); tolerate only BUSYGROUP."""
    for stream in STREAMS.values():
        try:
            await redis.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if not str(exc).startswith("BUSYGROUP"):
                raise


async def publish(redis: Redis, lane: str, ids: Sequence[int], *, per_entry: int) -> int:
    """XADD the ids in entries of `per_entry` ids, pipelined; returns the entries written."""
    if not ids:
        return 0
    stream = STREAMS[lane]
    async with redis.pipeline(transaction=False) as pipe:
        for start in range(0, len(ids), per_entry):
            chunk = ids[start : start + per_entry]
            pipe.xadd(stream, {ENTRY_FIELD_IDS: ",".join(map(str, chunk)).encode()})
        results = await pipe.execute()
    return len(results)


def _parse(lane: str, entry_id: bytes, fields: dict[bytes, bytes] | None) -> StreamEntry:
    raw = (fields or {}).get(ENTRY_FIELD_IDS, b"")
    ids: list[int] = []
    for part in raw.split(b","):
        if part.strip().isdigit():
            ids.append(int(part))
        elif part.strip():
            log.warning("push.stream.bad_id", extra={"lane": lane, "entry": entry_id.decode()})
    return StreamEntry(lane=lane, entry_id=entry_id, ids=tuple(ids))


def _entries(reply: Any) -> list[StreamEntry]:
    """XREADGROUP's reply (RESP2 list or RESP3 dict) as StreamEntry objects."""
    if not reply:
        return []
    pairs = reply.items() if isinstance(reply, dict) else reply
    out: list[StreamEntry] = []
    for stream, messages in pairs:
        name = stream if isinstance(stream, bytes) else str(stream).encode()
        lane = LANE_OF_STREAM[name]
        for message in messages:
            entry_id, fields = message[0], message[1]
            out.append(_parse(lane, entry_id, fields))
    return out


async def _read(
    redis: Redis, consumer: str, streams: dict[str, str], count: int, block_ms: int | None
) -> list[StreamEntry]:
    try:
        reply = await redis.xreadgroup(GROUP, consumer, streams, count=count, block=block_ms)  # type: ignore[arg-type]
    except ResponseError as exc:
        # NOGROUP: Redis lost the group (FLUSHALL, failover). UNBLOCKED: the stream key vanished
        # while this read was blocked on it. Either way recreate; the reconciler re-queues.
        if not str(exc).startswith(("NOGROUP", "UNBLOCKED")):
            raise
        log.warning("push.stream.group_recreated")
        await ensure_groups(redis)
        return []
    return _entries(reply)


async def read_batch(
    redis: Redis,
    consumer: str,
    *,
    max_entries: int,
    block_ms: int | None,
    skip_lanes: Iterable[str] = (),
) -> list[StreamEntry]:
    """New entries, lanes in priority order; blocks on all lanes only when every lane is empty."""
    lanes = [lane for lane in LANES if lane not in set(skip_lanes)]
    entries: list[StreamEntry] = []
    for lane in lanes:
        remaining = max_entries - len(entries)
        if remaining <= 0:
            break
        entries += await _read(redis, consumer, {STREAMS[lane]: ">"}, remaining, None)
    if entries or not block_ms or not lanes:
        return entries
    streams = {STREAMS[lane]: ">" for lane in lanes}
    return await _read(redis, consumer, streams, max_entries, block_ms)


async def autoclaim(
    redis: Redis, consumer: str, *, min_idle_ms: int, count: int, skip_lanes: Iterable[str] = ()
) -> list[StreamEntry]:
    """Take over entries other (dead) consumers read but never acked for `min_idle_ms`."""
    skipped = set(skip_lanes)
    entries: list[StreamEntry] = []
    for lane in LANES:
        if lane in skipped:
            continue
        try:
            reply = await redis.xautoclaim(
                STREAMS[lane], GROUP, consumer, min_idle_ms, "0-0", count=count
            )
        except ResponseError as exc:
            if not str(exc).startswith("NOGROUP"):
                raise
            await ensure_groups(redis)
            continue
        entries += [_parse(lane, entry_id, fields) for entry_id, fields in reply[1]]
    return entries


async def ack(redis: Redis, entries: Sequence[StreamEntry]) -> None:
    """Ack and delete handled entries (the stream is a queue, not a log: PostgreSQL is)."""
    if not entries:
        return
    async with redis.pipeline(transaction=False) as pipe:
        for entry in entries:
            pipe.xack(entry.stream, GROUP, entry.entry_id)
            pipe.xdel(entry.stream, entry.entry_id)
        await pipe.execute()


async def depth(redis: Redis) -> dict[str, int]:
    """Entries per lane not yet acked: unread (lag) plus read-but-pending."""
    out: dict[str, int] = {}
    for lane, stream in STREAMS.items():
        try:
            groups = await redis.xinfo_groups(stream)
        except ResponseError:
            out[lane] = 0
            continue
        group = next((g for g in groups if g.get("name") in (GROUP, GROUP.encode())), None)
        if group is None:
            out[lane] = 0
            continue
        lag = group.get("lag")
        unread = int(lag) if lag is not None else int(await redis.xlen(stream))
        out[lane] = unread + int(group.get("pending", 0))
    return out


def dead_letter_member(kind: Kind, item_id: int) -> bytes:
    return f"{kind.value}:{item_id}".encode()


async def push_dead_letters(redis: Redis, kind: Kind, ids: Sequence[int]) -> None:
    if ids:
        await redis.rpush(DEAD_LETTER_KEY, *(dead_letter_member(kind, i) for i in ids))


async def peek_dead_letters(redis: Redis, limit: int) -> tuple[list[tuple[Kind, int]], int]:
    """The oldest `limit` dead letters, parsed, and how many list items were read."""
    raw = await redis.lrange(DEAD_LETTER_KEY, 0, limit - 1)
    out: list[tuple[Kind, int]] = []
    for member in raw:
        text = member.decode() if isinstance(member, bytes) else str(member)
        kind, _, item = text.partition(":")
        if kind in (Kind.CS.value, Kind.DELIVERY.value) and item.isdigit():
            out.append((Kind(kind), int(item)))
    return out, len(raw)


async def drop_dead_letters(redis: Redis, count: int) -> None:
    await redis.ltrim(DEAD_LETTER_KEY, count, -1)
