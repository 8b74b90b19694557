"""SQL for the `keyword_reply` table."""

from __future__ import annotations

from sqlalchemy import select

from app.content.models import KeywordReply
from app.core.repository import Repository


class KeywordReplyRepository(Repository[KeywordReply]):
    async def get(self, reply_id: int) -> KeywordReply | None:
        return await self.session.get(KeywordReply, reply_id)

    async def list_active(self) -> list[KeywordReply]:
        stmt = (
            select(KeywordReply)
            .where(KeywordReply.is_active.is_(True))
            .order_by(KeywordReply.priority, KeywordReply.id)
        )
        return list(await self.session.scalars(stmt))
