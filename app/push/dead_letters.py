"""Dead letters as PostgreSQL records them: failed deliveries whose last event dead-lettered them.

The worker pushes dead-lettered ids onto a Redis list (`push:dead`) after its commit, but Redis
can lose that list (or the push after the commit can fail); the `delivery_event` row the worker
wrote in the same transaction as the `failed` status cannot. So the ops list, its count and the
re-drive of template sends read PostgreSQL. (CS messages keep no event history: their dead
letters are only on the Redis list, see `service.redrive_dead_letters`.)
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.security import mask_openid
from app.push.constants import DEAD_LETTERED, DeliveryStatus
from app.push.errors import DeliveryNotFoundError, NotADeadLetterError
from app.push.models import Alert, Delivery, DeliveryEvent
from app.push.repository import queue_repository
from app.push.schemas import DeadLetterPage, DeadLetterRead


def _dead_lettered() -> ColumnElement[bool]:
    """A failed delivery whose latest event is the worker's dead-lettering (a re-driven row
    that later failed for good has a newer, different event)."""
    latest = aliased(DeliveryEvent)
    latest_id = (
        select(func.max(latest.id))
        .where(latest.delivery_id == Delivery.id)
        .correlate(Delivery)  # two levels up: the EXISTS below has no `delivery` of its own
        .scalar_subquery()
    )
    event = exists().where(
        DeliveryEvent.delivery_id == Delivery.id,
        DeliveryEvent.id == latest_id,
        DeliveryEvent.to_status == DeliveryStatus.FAILED,
        DeliveryEvent.detail.like(f"%{DEAD_LETTERED}"),
    )
    return and_(Delivery.status == DeliveryStatus.FAILED, event)


# (delivery, alert type, template id: the row's own or its alert's)
DeadLetterRow = tuple[Delivery, str, str | None]


class DeadLetterRepository:
    """SQL for dead-lettered deliveries (joined with their alert's type)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _select(self) -> Select[Delivery, str, str | None]:
        # A fan-out row's template is its alert's (delivery.template_id NULL).
        template_id = func.coalesce(Delivery.template_id, Alert.template_id)
        return (
            select(Delivery, Alert.type, template_id)
            .join(Alert, Alert.id == Delivery.alert_id)
            .where(_dead_lettered())
        )

    async def list_recent(self, *, limit: int, offset: int) -> list[DeadLetterRow]:
        stmt = (
            self._select()
            .order_by(Delivery.failed_at.desc(), Delivery.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [(row[0], str(row[1]), row[2]) for row in (await self.session.execute(stmt)).all()]

    async def count(self) -> int:
        stmt = select(func.count()).select_from(Delivery).where(_dead_lettered())
        return int(await self.session.scalar(stmt) or 0)

    async def list_ids(self, *, limit: int) -> list[int]:
        stmt = select(Delivery.id).where(_dead_lettered()).order_by(Delivery.id).limit(limit)
        return [int(i) for i in await self.session.scalars(stmt)]

    async def get(self, delivery_id: int) -> DeadLetterRow | None:
        row = (await self.session.execute(self._select().where(Delivery.id == delivery_id))).first()
        return None if row is None else (row[0], str(row[1]), row[2])


def _read(delivery: Delivery, alert_type: str, template_id: str | None) -> DeadLetterRead:
    return DeadLetterRead(
        delivery_id=delivery.id,
        alert_id=delivery.alert_id,
        alert_type=alert_type,
        openid_masked=mask_openid(delivery.openid),
        template_id=template_id or "",
        errcode=delivery.errcode,
        error=delivery.error,
        attempts=delivery.attempts,
        failed_at=delivery.failed_at,
    )


async def list_dead_letters(
    session: AsyncSession, *, limit: int = 100, offset: int = 0
) -> DeadLetterPage:
    """Dead-lettered template sends, most recently failed first, with the total (masked)."""
    repo = DeadLetterRepository(session)
    rows = await repo.list_recent(limit=limit, offset=offset)
    return DeadLetterPage(total=await repo.count(), items=[_read(*row) for row in rows])


async def count_dead_letters(session: AsyncSession) -> int:
    return await DeadLetterRepository(session).count()


async def list_dead_letter_ids(session: AsyncSession, *, limit: int) -> list[int]:
    return await DeadLetterRepository(session).list_ids(limit=limit)


async def redrive_dead_letter(
    session: AsyncSession, delivery_id: int, *, now: datetime
) -> DeadLetterRead:
    """One dead-lettered send back to `pending` with a fresh attempt budget (the relay queues
    it). Returns it as it was; any other delivery is refused. Flushes, never commits."""
    repo = DeadLetterRepository(session)
    found = await repo.get(delivery_id)
    if found is None:
        if await session.get(Delivery, delivery_id) is None:
            raise DeliveryNotFoundError(delivery_id)
        raise NotADeadLetterError(delivery_id)
    before = _read(*found)
    if not await queue_repository(session, cs=False).redrive([delivery_id], now=now):
        raise NotADeadLetterError(delivery_id)  # changed since the read (re-driven meanwhile)
    return before
