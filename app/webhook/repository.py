"""SQL for the append-only `inbound_event` table."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, insert, select

from app.core.repository import Repository
from app.webhook.models import InboundEvent
from app.webhook.schemas import InboundRecord


class InboundEventRepository(Repository[InboundEvent]):
    async def add_many(self, records: Sequence[InboundRecord]) -> None:
        """One multi-row INSERT (executemany) for a batch of records."""
        if records:
            await self.session.execute(insert(InboundEvent), [r.as_row() for r in records])

    async def list_by_openid(self, openid: str) -> list[InboundEvent]:
        stmt = (
            select(InboundEvent)
            .where(InboundEvent.openid == openid)
            .order_by(InboundEvent.wechat_created_at, InboundEvent.id)
        )
        return list(await self.session.scalars(stmt))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count(InboundEvent.id))) or 0)
