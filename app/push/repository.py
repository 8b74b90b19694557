"""SQL of the push pipeline: bulk status transitions on `delivery` and `cs_message`.

Every transition is one statement over a batch of ids and is guarded by the status it leaves
(`UPDATE … WHERE status = …`), so two workers, a relay and a reconciler can race safely.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import (
    UtcDateTime,
    advisory_lock_holders,
    dialect_name,
    execute_hot,
    fetch_ids_by_group,
    in_param,
    in_values,
    insert_ignoring_conflicts,
    insert_rows,
    last_allocated_id,
    update_rows,
)
from app.core.repository import Repository
from app.push.constants import CS_LANE, PRODUCER_LOCK_KEYS, DeliveryStatus, Kind
from app.push.fanout import of_alert
from app.push.horizon import IdHorizon
from app.push.models import (
    Alert,
    CsMessage,
    Delivery,
    DeliveryEvent,
    PushRelayCursor,
    PushRelayMark,
)

DELIVERY = cast(Table, Delivery.__table__)
CS_MESSAGE = cast(Table, CsMessage.__table__)
DELIVERY_EVENT = cast(Table, DeliveryEvent.__table__)
RELAY_CURSOR = cast(Table, PushRelayCursor.__table__)
RELAY_MARK = cast(Table, PushRelayMark.__table__)


# (template_id, data, url) of one alert, shared by its fan-out rows.
AlertTemplate = tuple[str, dict[str, str] | None, str | None]


@dataclass(frozen=True, slots=True)
class Claimed:
    """A row this worker holds (status `sending`) until `lease_until`: the fencing token."""

    id: int
    openid: str
    attempts: int
    created_at: datetime
    lease_until: datetime
    template_id: str = ""
    data: dict[str, str] | None = None
    url: str | None = None
    message: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of one send, as the worker records it."""

    id: int
    lease_until: datetime
    status: str
    attempts: int
    msgid: int | None = None
    errcode: int | None = None
    error: str | None = None
    next_attempt_at: datetime | None = None
    detail: str | None = None


class AlertRepository(Repository[Alert]):
    async def get(self, alert_id: int) -> Alert | None:
        return await self.session.get(Alert, alert_id)


class QueueRepository:
    """Status transitions shared by `delivery` (template sends) and `cs_message` (CS sends)."""

    def __init__(self, session: AsyncSession, table: Table) -> None:
        self.session = session
        self.t = table
        self.has_history = table is DELIVERY
        self.kind = Kind.DELIVERY if self.has_history else Kind.CS

    @property
    def fresh(self) -> ColumnElement[bool]:
        """Never relayed by a per-row UPDATE: `queued` once the relay cursor passed its id."""
        t = self.t
        return and_(
            t.c.status == DeliveryStatus.PENDING,
            t.c.queued_at.is_(None),
            t.c.next_attempt_at.is_(None),
        )

    @property
    def in_redis(self) -> ColumnElement[bool]:
        """Rows a stream entry may carry: `queued`, or fresh (the cursor passed them)."""
        return or_(self.t.c.status == DeliveryStatus.QUEUED, self.fresh)

    def effective_status(self) -> ColumnElement[str]:
        """The status as the API shows it: fresh rows at or below the cursor are `queued`."""
        t = self.t
        cursor = (
            select(RELAY_CURSOR.c.last_id)
            .where(RELAY_CURSOR.c.kind == self.kind.value)
            .scalar_subquery()
        )
        return case(
            (and_(self.fresh, t.c.id <= func.coalesce(cursor, 0)), literal(DeliveryStatus.QUEUED)),
            else_=t.c.status,
        )

    async def fresh_after(
        self, after_id: int, horizon: int, limit: int
    ) -> tuple[dict[str, list[int]], int]:
        """Fresh ids in (after_id, horizon], oldest first, by lane; and the highest one (or
        `after_id`). The relay's hot path: no UPDATE, one array per lane (cheap to decode)."""
        t = self.t
        lane = t.c.severity if self.has_history else literal(CS_LANE)
        picked = (
            select(t.c.id, lane)
            .where(t.c.id > after_id, t.c.id <= horizon, self.fresh)
            .order_by(t.c.id)
            .limit(limit)
        )
        by_lane = await fetch_ids_by_group(self.session, picked)
        highest = max((ids[-1] for ids in by_lane.values()), default=after_id)
        return by_lane, int(highest)

    async def lock_cursor(self) -> int:
        """The relay cursor of this kind, locked until commit (one relay moves it at a time)."""
        # A missing cursor starts at 0: always safe (a fresh row is at worst sent to Redis
        # twice, and the claim is atomic); any higher start could skip an uncommitted row.
        init = insert_ignoring_conflicts(dialect_name(self.session), RELAY_CURSOR, ["kind"])
        await self.session.execute(init.values(kind=self.kind.value, last_id=0))
        stmt = (
            select(RELAY_CURSOR.c.last_id)
            .where(RELAY_CURSOR.c.kind == self.kind.value)
            .with_for_update()
        )
        return int(await self.session.scalar(stmt) or 0)

    async def id_horizon(self, horizon: IdHorizon) -> int:
        """The highest id no producer can still commit a row below, as `horizon` proves it
        from this sample and its earlier ones (`app.push.horizon`). Never blocks a producer.
        SQLite: every allocated id is proven at once (no advisory locks; lock_cursor's write
        already holds the database's write lock, so no other writer is in flight)."""
        last = await last_allocated_id(self.session, self.t)  # first L, then who holds the lock
        in_flight = await advisory_lock_holders(self.session, PRODUCER_LOCK_KEYS[self.kind])
        return horizon.observe(last, in_flight)

    async def advance_cursor(self, last_id: int, *, at: datetime) -> None:
        await self.session.execute(
            update(RELAY_CURSOR)
            .where(RELAY_CURSOR.c.kind == self.kind.value)
            .values(last_id=last_id)
        )
        await self.session.execute(
            insert(RELAY_MARK).values(kind=self.kind.value, last_id=last_id, at=at)
        )

    async def rewind_cursor(self) -> int:
        """Redis lost its data: fresh rows below the cursor are in no stream any more. Moves the
        cursor back below the first of them; returns how many the relay will send again."""
        cursor = await self.lock_cursor()
        t = self.t
        first, count = (
            await self.session.execute(
                select(func.min(t.c.id), func.count()).where(self.fresh, t.c.id <= cursor)
            )
        ).one()
        if first is not None:
            await self.session.execute(
                update(RELAY_CURSOR)
                .where(RELAY_CURSOR.c.kind == self.kind.value)
                .values(last_id=int(first) - 1)
            )
        await self.session.execute(delete(RELAY_MARK).where(RELAY_MARK.c.kind == self.kind.value))
        return int(count)

    async def requeue_stale_fresh(self, *, now: datetime, lease_s: float, limit: int) -> list[int]:
        """Fresh rows the cursor passed longer than the queue lease ago → re-relayed one by one.

        The same lease as `queued` rows: their stream entry is assumed lost. They get
        `queued_at`, so they leave the cursor path and the per-row relay picks them up.
        """
        t = self.t
        boundary = (
            select(func.max(RELAY_MARK.c.last_id))
            .where(
                RELAY_MARK.c.kind == self.kind.value,
                RELAY_MARK.c.at < now - timedelta(seconds=lease_s),
            )
            .scalar_subquery()
        )
        picked = (
            select(t.c.id)
            .where(self.fresh, t.c.id <= boundary)
            .order_by(t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        stmt = (
            update(t).where(t.c.id.in_(picked), self.fresh).values(queued_at=now).returning(t.c.id)
        )
        ids = sorted(int(i) for i in (await self.session.scalars(stmt)).all())
        if len(ids) < limit:  # every stale row is handled: marks before the lease are spent
            await self.session.execute(
                delete(RELAY_MARK).where(
                    RELAY_MARK.c.kind == self.kind.value,
                    RELAY_MARK.c.at < now - timedelta(seconds=lease_s),
                )
            )
        detail = "re-queued by the reconciler (entry lost)"
        await self.add_events(
            [(i, DeliveryStatus.QUEUED, DeliveryStatus.PENDING, None, detail) for i in ids], at=now
        )
        return ids

    async def mark_queued(
        self, *, now: datetime, lease_until: datetime, limit: int, after_id: int = 0
    ) -> list[tuple[int, str]]:
        """pending → queued for due rows (oldest first); returns (id, lane). Skips locked rows."""
        t = self.t
        due = or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now)
        picked = (
            select(t.c.id)
            .where(
                t.c.status == DeliveryStatus.PENDING,
                due,
                t.c.id > after_id,
                or_(t.c.queued_at.is_not(None), t.c.next_attempt_at.is_not(None)),
            )
            .order_by(t.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        lane = t.c.severity if self.has_history else literal(CS_LANE)
        stmt = (
            update(t)
            .where(t.c.id.in_(picked))
            .values(status=DeliveryStatus.QUEUED, queued_at=now, lease_until=lease_until)
            .returning(t.c.id, lane)
        )
        rows = (await self.session.execute(stmt)).all()
        return sorted((int(r[0]), str(r[1])) for r in rows)

    async def mark_ids_queued(
        self, ids: Sequence[int], *, now: datetime, lease_until: datetime
    ) -> list[int]:
        """pending → queued for these ids (a producer relaying what it just committed)."""
        t = self.t
        stmt = (
            update(t)
            .where(t.c.id.in_(ids), t.c.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.QUEUED, queued_at=now, lease_until=lease_until)
            .returning(t.c.id)
        )
        return sorted(int(i) for i in (await self.session.scalars(stmt)).all())

    async def unqueue(self, ids: Sequence[int]) -> None:
        """queued → pending: the XADD failed, so the relay must try again."""
        t = self.t
        stmt = (
            update(t)
            .where(t.c.id.in_(ids), t.c.status == DeliveryStatus.QUEUED)
            .values(status=DeliveryStatus.PENDING, lease_until=None)
        )
        await self.session.execute(stmt)

    async def defer(self, ids: Sequence[int], *, until: datetime) -> list[int]:
        """queued → pending until `until` (sending is paused, e.g. 45009 until midnight)."""
        t = self.t
        stmt = (
            update(t)
            .where(in_values(self.session, t.c.id, ids), self.in_redis)
            .values(
                status=DeliveryStatus.PENDING,
                next_attempt_at=until,
                lease_until=None,  # next_attempt_at set: leaves the cursor path for good
            )
            .returning(t.c.id)
        )
        return [int(i) for i in (await self.session.scalars(stmt)).all()]

    async def expire(self, ids: Sequence[int], *, now: datetime) -> list[int]:
        """queued → expired for rows past `expires_at` (stale market alerts)."""
        t = self.t

        def build() -> Any:
            at = bindparam("now", type_=UtcDateTime)
            return (
                update(t)
                .where(
                    in_param(self.session, t.c.id, "ids"),
                    self.in_redis,
                    t.c.expires_at.is_not(None),
                    t.c.expires_at <= at,
                )
                .values(status=DeliveryStatus.EXPIRED, expired_at=at, lease_until=None)
                .returning(t.c.id)
            )

        values = {"ids": list(ids), "now": now}  # every claim runs this first: compiled once
        rows = await execute_hot(self.session, ("push.expire", t.name), build, values)
        expired = [int(row[0]) for row in rows]
        await self.add_events(
            [
                (i, DeliveryStatus.QUEUED, DeliveryStatus.EXPIRED, None, "expires_at passed")
                for i in expired
            ],
            at=now,
        )
        return expired

    async def claim(
        self, ids: Sequence[int], *, now: datetime, lease_until: datetime
    ) -> list[Claimed]:
        """queued → sending with a lease (or take over a `sending` row whose lease ran out)."""
        values = {"ids": list(ids), "now": now, "lease_until": lease_until}
        key = ("push.claim", self.t.name)  # the worker's hot path: compiled once
        rows = await execute_hot(self.session, key, self._claim_statement, values)
        shared = await self._alert_templates(rows) if self.has_history else {}
        return [self._claimed(row, lease_until, shared) for row in rows]

    def _claim_statement(self) -> Any:
        t = self.t
        now = bindparam("now", type_=UtcDateTime)
        takeable = or_(
            self.in_redis,
            and_(t.c.status == DeliveryStatus.SENDING, t.c.lease_until < now),
        )
        payload = (
            [t.c.alert_id, t.c.template_id, t.c.data, t.c.url]
            if self.has_history
            else [t.c.message]
        )
        return (
            update(t)
            .where(in_param(self.session, t.c.id, "ids"), takeable)
            .values(
                status=DeliveryStatus.SENDING,
                sending_at=now,
                lease_until=bindparam("lease_until", type_=UtcDateTime),
                queued_at=func.coalesce(t.c.queued_at, now),  # set lazily for fresh rows
            )
            .returning(t.c.id, t.c.openid, t.c.attempts, t.c.created_at, *payload)
        )

    async def _alert_templates(self, rows: Sequence[Any]) -> dict[int, AlertTemplate]:
        """The template of each alert whose rows carry none (fan-out rows): one query per batch,
        and each alert's JSON decoded once instead of once per row."""
        alert_ids = sorted({int(r.alert_id) for r in rows if r.template_id is None})
        if not alert_ids:
            return {}
        a = cast(Table, Alert.__table__).c
        stmt = select(a.id, a.template_id, a.data, a.url).where(
            in_values(self.session, a.id, alert_ids)
        )
        return {
            int(r.id): (r.template_id or "", r.data, r.url)
            for r in await self.session.execute(stmt)
        }

    def _claimed(
        self, row: Any, lease_until: datetime, shared: Mapping[int, AlertTemplate]
    ) -> Claimed:
        if not self.has_history:
            return Claimed(
                int(row.id), row.openid, int(row.attempts), row.created_at, lease_until,
                message=row.message,
            )  # fmt: skip
        template_id, data, url = row.template_id, row.data, row.url
        if template_id is None:  # NULL: the alert's template, data and link
            template_id, data, url = shared.get(int(row.alert_id), ("", None, None))
        return Claimed(
            int(row.id), row.openid, int(row.attempts), row.created_at, lease_until,
            template_id, data, url,
        )  # fmt: skip

    async def record(self, transitions: Sequence[Transition], *, now: datetime) -> list[int]:
        """sending → sent | pending (retry) | failed, fenced by the claim's lease: one UPDATE
        for the batch (PostgreSQL), then the history of the rows it matched, in one INSERT.
        Returns the ids recorded (a row whose lease was taken over is left to its new owner)."""
        if not transitions:
            return []
        t = self.t
        rows = [self._row(tr, now) for tr in transitions]

        def assign(v: Mapping[str, ColumnElement[Any]]) -> dict[str, Any]:
            values: dict[str, Any] = {
                name: v[name]
                for name in ("status", "attempts", "errcode", "error", "next_attempt_at")
            }
            values["sent_at"] = func.coalesce(v["sent_at"], t.c.sent_at)
            values["failed_at"] = v["failed_at"]
            values["lease_until"] = None
            if self.has_history:
                values["msgid"] = func.coalesce(v["msgid"], t.c.msgid)
            return values

        matched = await update_rows(
            self.session,
            t,
            rows,
            match=("id", "lease_until"),
            where=[t.c.status == DeliveryStatus.SENDING],
            assign=assign,
            returning=[t.c.id],
            key="push.record",  # the worker's hot path: compiled once
        )
        recorded = {int(r[0]) for r in matched}
        await self.add_events(
            [
                (tr.id, DeliveryStatus.SENDING, tr.status, tr.errcode, tr.detail)
                for tr in transitions
                if tr.id in recorded
            ],
            at=now,
        )
        return sorted(recorded)

    def _row(self, tr: Transition, now: datetime) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": tr.id,
            "lease_until": tr.lease_until,
            "status": tr.status,
            "attempts": tr.attempts,
            "errcode": tr.errcode,
            "error": (tr.error or "")[:255] or None,
            "next_attempt_at": tr.next_attempt_at,
            "sent_at": now if tr.status == DeliveryStatus.SENT else None,
            "failed_at": now if tr.status == DeliveryStatus.FAILED else None,
        }
        if self.has_history:
            row["msgid"] = tr.msgid
        return row

    async def requeue_stuck(
        self, *, now: datetime, limit: int, every_queued: bool = False
    ) -> list[int]:
        """queued/sending past the lease → pending, so the relay sends the ids to Redis again.

        `every_queued`: Redis lost its data, so no queued row is in a stream any more.
        """
        t = self.t
        stuck_queued: ColumnElement[bool] = t.c.status == DeliveryStatus.QUEUED
        if not every_queued:
            stuck_queued = and_(stuck_queued, t.c.lease_until < now)
        stuck_sending = and_(t.c.status == DeliveryStatus.SENDING, t.c.lease_until < now)
        ids = await self._requeue(stuck_queued, DeliveryStatus.QUEUED, now=now, limit=limit)
        ids += await self._requeue(stuck_sending, DeliveryStatus.SENDING, now=now, limit=limit)
        return sorted(ids)

    async def _requeue(
        self, stuck: ColumnElement[bool], from_status: str, *, now: datetime, limit: int
    ) -> list[int]:
        t = self.t
        picked = (
            select(t.c.id).where(stuck).limit(limit).with_for_update(skip_locked=True)
        ).scalar_subquery()
        stmt = (
            update(t)
            .where(t.c.id.in_(picked), t.c.status == from_status)
            .values(status=DeliveryStatus.PENDING, lease_until=None, next_attempt_at=None)
            .returning(t.c.id)
        )
        ids = [int(i) for i in (await self.session.scalars(stmt)).all()]
        detail = "re-queued by the reconciler"
        await self.add_events(
            [(i, from_status, DeliveryStatus.PENDING, None, detail) for i in ids], at=now
        )
        return ids

    async def redrive(self, ids: Sequence[int], *, now: datetime) -> list[int]:
        """failed → pending with a fresh attempt budget (dead-letter re-drive)."""
        t = self.t
        stmt = (
            update(t)
            .where(t.c.id.in_(ids), t.c.status == DeliveryStatus.FAILED)
            .values(
                status=DeliveryStatus.PENDING,
                attempts=0,
                next_attempt_at=None,
                failed_at=None,
                errcode=None,
                error=None,
            )
            .returning(t.c.id)
        )
        redriven = sorted(int(i) for i in (await self.session.scalars(stmt)).all())
        await self.add_events(
            [
                (i, DeliveryStatus.FAILED, DeliveryStatus.PENDING, None, "re-driven")
                for i in redriven
            ],
            at=now,
        )
        return redriven

    async def add_events(
        self, events: Sequence[tuple[int, str, str, int | None, str | None]], *, at: datetime
    ) -> None:
        if not self.has_history or not events:
            return
        rows = [
            {
                "delivery_id": i,
                "from_status": src,
                "to_status": dst,
                "errcode": code,
                "detail": (detail or "")[:255] or None,
                "at": at,
            }
            for i, src, dst, code, detail in events
        ]
        await insert_rows(self.session, DELIVERY_EVENT, rows, key="push.events")

    async def count_by_status(self, *conditions: ColumnElement[bool]) -> dict[str, int]:
        status = self.effective_status()
        stmt = select(status, func.count()).where(*conditions).group_by(status)
        return {str(s): int(n) for s, n in (await self.session.execute(stmt)).all()}


class DeliveryRepository(Repository[Delivery]):
    async def get(self, delivery_id: int) -> Delivery | None:
        return await self.session.get(Delivery, delivery_id)

    async def list_ids_for_alert(self, alert_id: int) -> list[int]:
        stmt = select(Delivery.id).where(of_alert(alert_id)).order_by(Delivery.id)
        return list((await self.session.scalars(stmt)).all())

    async def list_lanes(self, ids: Sequence[int]) -> list[tuple[int, str]]:
        stmt = select(Delivery.id, Delivery.severity).where(Delivery.id.in_(ids))
        return sorted((int(i), str(lane)) for i, lane in (await self.session.execute(stmt)).all())

    async def list_events(self, delivery_id: int) -> list[DeliveryEvent]:
        stmt = (
            select(DeliveryEvent)
            .where(DeliveryEvent.delivery_id == delivery_id)
            .order_by(DeliveryEvent.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def apply_receipt(self, *, msgid: int, delivered: bool, now: datetime) -> list[int]:
        """sent → delivered | failed for the delivery WeChat gave this msgid (idempotent)."""
        target = DeliveryStatus.DELIVERED if delivered else DeliveryStatus.FAILED
        stamp = {"delivered_at": now} if delivered else {"failed_at": now}
        stmt = (
            update(DELIVERY)
            .where(DELIVERY.c.msgid == msgid, DELIVERY.c.status == DeliveryStatus.SENT)
            .values(status=target, **stamp)
            .returning(DELIVERY.c.id)
        )
        return [int(i) for i in (await self.session.scalars(stmt)).all()]

    async def exists_msgid(self, msgid: int) -> bool:
        stmt = select(DELIVERY.c.id).where(DELIVERY.c.msgid == msgid).limit(1)
        return (await self.session.scalar(stmt)) is not None


class CsMessageRepository(Repository[CsMessage]):
    async def get(self, message_id: int) -> CsMessage | None:
        return await self.session.get(CsMessage, message_id)


def queue_repository(session: AsyncSession, *, cs: bool) -> QueueRepository:
    return QueueRepository(session, CS_MESSAGE if cs else DELIVERY)
