"""Read-only SQL over other features' tables for the dashboard and the fan pages.

Like the alerts fan-out, the few columns read here are declared as lightweight `table()` clauses
(no model import, no relationship): the contract is these column names. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, and_, case, column, func, or_, select
from sqlalchemy import table as sql_table
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import UtcDateTime

ALERT = sql_table("alert", column("id", BigInteger), column("type", String))
DELIVERY = sql_table(
    "delivery",
    column("id", BigInteger),
    column("alert_id", BigInteger),
    column("openid", String),
    column("status", String),
    column("errcode", Integer),
    column("error", String),
    column("created_at", UtcDateTime()),
    column("sent_at", UtcDateTime()),
    column("delivered_at", UtcDateTime()),
    column("failed_at", UtcDateTime()),
    column("next_attempt_at", UtcDateTime()),
)
INBOUND = sql_table(
    "inbound_event",
    column("msg_type", String),
    column("event", String),
    column("received_at", UtcDateTime()),
)
FAN = sql_table(
    "fan",
    column("id", BigInteger),
    column("openid", String),
    column("is_subscribed", Boolean),
    column("first_subscribed_at", UtcDateTime()),
    column("last_subscribed_at", UtcDateTime()),
    column("unsubscribed_at", UtcDateTime()),
    column("subscribe_scene", String),
    column("last_seen_at", UtcDateTime()),
)
BINDING = sql_table(
    "account_binding",
    column("openid", String),
    column("account_no_masked", String),
    column("unbound_at", UtcDateTime()),
)
WAITING = ("pending", "queued")


@dataclass(frozen=True, slots=True)
class FanRow:
    id: int
    openid: str
    is_subscribed: bool
    first_subscribed_at: datetime | None
    last_subscribed_at: datetime | None
    unsubscribed_at: datetime | None
    subscribe_scene: str | None
    last_seen_at: datetime | None


class ReportingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def sends_by_type_and_status(self, *, since: datetime) -> list[tuple[str, str, int]]:
        joined = DELIVERY.join(ALERT, ALERT.c.id == DELIVERY.c.alert_id)
        stmt = (
            select(ALERT.c.type, DELIVERY.c.status, func.count())
            .select_from(joined)
            .where(DELIVERY.c.created_at >= since)
            .group_by(ALERT.c.type, DELIVERY.c.status)
            .order_by(ALERT.c.type, DELIVERY.c.status)
        )
        return [(str(t), str(s), int(n)) for t, s, n in await self.session.execute(stmt)]

    async def failure_codes(self, *, since: datetime) -> list[tuple[int | None, int]]:
        stmt = (
            select(DELIVERY.c.errcode, func.count())
            .where(DELIVERY.c.status == "failed", DELIVERY.c.failed_at >= since)
            .group_by(DELIVERY.c.errcode)
            .order_by(func.count().desc())
        )
        return [(code, int(n)) for code, n in await self.session.execute(stmt)]

    async def count_sent_since(self, since: datetime) -> int:
        """Template sends WeChat accepted since then (each used one unit of the daily quota)."""
        stmt = select(func.count()).where(DELIVERY.c.sent_at >= since)
        return int(await self.session.scalar(stmt) or 0)

    async def oldest_waiting(self, *, now: datetime) -> tuple[int, datetime | None]:
        """Deliveries due but not yet sent, and the creation time of the oldest one (lag)."""
        due = or_(DELIVERY.c.next_attempt_at.is_(None), DELIVERY.c.next_attempt_at <= now)
        stmt = select(func.count(), func.min(DELIVERY.c.created_at)).where(
            DELIVERY.c.status.in_(WAITING), due
        )
        row = (await self.session.execute(stmt)).one()
        return int(row[0] or 0), row[1]

    async def follows_per_day(self, starts: Sequence[datetime]) -> list[tuple[int, str, int]]:
        """(day index, event, count) of subscribe/unsubscribe events; `starts` ascending.

        The day bucket is a CASE over precomputed day starts, so it runs unchanged on
        PostgreSQL and SQLite (no date_trunc/strftime).
        """
        received = INBOUND.c.received_at
        bucket = case(
            *[(received >= start, index) for index, start in reversed(list(enumerate(starts)))],
            else_=-1,
        ).label("day")
        stmt = (
            select(bucket, INBOUND.c.event, func.count())
            .where(
                INBOUND.c.msg_type == "event",
                INBOUND.c.event.in_(("subscribe", "unsubscribe")),
                received >= starts[0],
            )
            .group_by(bucket, INBOUND.c.event)
        )
        return [(int(d), str(e), int(n)) for d, e, n in await self.session.execute(stmt)]

    async def count_active_bindings(self) -> int:
        stmt = select(func.count(func.distinct(BINDING.c.openid))).where(
            BINDING.c.unbound_at.is_(None)
        )
        return int(await self.session.scalar(stmt) or 0)

    async def count_subscribed_fans(self) -> int:
        stmt = select(func.count()).where(FAN.c.is_subscribed.is_(True))
        return int(await self.session.scalar(stmt) or 0)

    async def search_fans(
        self, *, openid: str | None, account_tail: str | None, limit: int
    ) -> list[FanRow]:
        conditions: list[Any] = []
        if openid:
            conditions.append(FAN.c.openid == openid)
        if account_tail:
            bound = select(BINDING.c.openid).where(
                BINDING.c.account_no_masked.like(f"%{account_tail}")
            )
            conditions.append(FAN.c.openid.in_(bound.scalar_subquery()))
        stmt = select(*FAN.c).where(and_(*conditions)).order_by(FAN.c.id).limit(limit)
        return [FanRow(**row._mapping) for row in await self.session.execute(stmt)]

    async def get_fan(self, fan_id: int) -> FanRow | None:
        row = (await self.session.execute(select(*FAN.c).where(FAN.c.id == fan_id))).first()
        return FanRow(**row._mapping) if row is not None else None

    async def deliveries_of(self, openid: str, *, limit: int) -> list[dict[str, Any]]:
        joined = DELIVERY.join(ALERT, ALERT.c.id == DELIVERY.c.alert_id)
        stmt = (
            select(
                DELIVERY.c.id,
                DELIVERY.c.alert_id,
                ALERT.c.type,
                DELIVERY.c.status,
                DELIVERY.c.errcode,
                DELIVERY.c.error,
                DELIVERY.c.created_at,
                DELIVERY.c.sent_at,
                DELIVERY.c.delivered_at,
            )
            .select_from(joined)
            .where(DELIVERY.c.openid == openid)
            .order_by(DELIVERY.c.id.desc())
            .limit(limit)
        )
        return [dict(row._mapping) for row in await self.session.execute(stmt)]
