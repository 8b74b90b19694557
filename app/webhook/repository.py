"""SQL for the append-only `inbound_event` table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from app.core.repository import Repository
from app.webhook.models import InboundEvent
from app.webhook.schemas import InboundRecord


class InboundEventRepository(Repository[InboundEvent]):
    async def add_many(self, records: Sequence[InboundRecord]) -> None:
        """Append a batch: COPY on PostgreSQL, one executemany INSERT elsewhere.

        COPY skips per-row statement and bind processing: at webhook rates the recorder's
        INSERT cost competed with the request path for the same CPU.
        """
        if not records:
            return
        connection = await self.session.connection()
        if connection.dialect.name == "postgresql":
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            if not driver.is_in_transaction():
                # The dialect opens its transaction lazily on the first statement; COPY on the
                # driver connection before that would autocommit outside the batch's transaction.
                await connection.exec_driver_sql("SELECT 1")
            await driver.copy_records_to_table(
                InboundEvent.__tablename__,
                records=[r.as_tuple() for r in records],
                columns=InboundRecord.COLUMNS,
            )
            return
        await self.session.execute(insert(InboundEvent), [r.as_row() for r in records])

    async def list_after(
        self, after_id: int, *, received_before: datetime, limit: int
    ) -> list[InboundEvent]:
        stmt = (
            select(InboundEvent)
            .where(InboundEvent.id > after_id, InboundEvent.received_at < received_before)
            .order_by(InboundEvent.id)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def list_by_openid(self, openid: str) -> list[InboundEvent]:
        stmt = (
            select(InboundEvent)
            .where(InboundEvent.openid == openid)
            .order_by(InboundEvent.wechat_created_at, InboundEvent.id)
        )
        return list(await self.session.scalars(stmt))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count(InboundEvent.id))) or 0)
