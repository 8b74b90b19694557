"""SQL for the `fan` table."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from app.core.db import insert_ignoring_conflicts
from app.core.repository import Repository
from app.fans.models import Fan


class FanRepository(Repository[Fan]):
    async def get_by_openid(self, openid: str) -> Fan | None:
        return await self.session.scalar(select(Fan).where(Fan.openid == openid))

    async def ensure_exist(self, openids: Collection[str]) -> None:
        """Create bare rows for unknown openids; concurrent flushes of other instances are fine."""
        if not openids:
            return
        dialect = self.session.get_bind().dialect.name
        stmt = insert_ignoring_conflicts(dialect, Fan.__table__, ["openid"])
        rows = [{"openid": o, "is_subscribed": False, "subscribe_count": 0} for o in openids]
        await self.session.execute(stmt, rows)

    async def list_by_openids_for_update(self, openids: Collection[str]) -> list[Fan]:
        """Row-locked (PostgreSQL) so two instances applying events to one fan serialise."""
        stmt = (
            select(Fan)
            .where(Fan.openid.in_(sorted(openids)))
            .order_by(Fan.openid)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list(await self.session.scalars(stmt))
