"""SQL for the content tables: keyword replies, articles, menu versions and publications."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from app.content.models import Article, KeywordReply, MenuPublication, MenuStatus, MenuVersion
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

    async def list_all(self, *, limit: int, offset: int) -> list[KeywordReply]:
        stmt = select(KeywordReply).order_by(KeywordReply.id).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))


class ArticleRepository(Repository[Article]):
    async def get(self, article_id: int) -> Article | None:
        return await self.session.get(Article, article_id)

    async def list_by_ids(self, ids: set[int]) -> list[Article]:
        if not ids:
            return []
        return list(await self.session.scalars(select(Article).where(Article.id.in_(ids))))

    async def list_latest_active(self, *, now: datetime, limit: int) -> list[Article]:
        stmt = (
            select(Article)
            .where(Article.is_active.is_(True), Article.published_at <= now)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def list_all(self, *, limit: int, offset: int) -> list[Article]:
        stmt = (
            select(Article)
            .order_by(Article.published_at.desc(), Article.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(await self.session.scalars(stmt))


class MenuVersionRepository(Repository[MenuVersion]):
    async def get_by_version(self, version: int) -> MenuVersion | None:
        return await self.session.scalar(select(MenuVersion).where(MenuVersion.version == version))

    async def get_published(self) -> MenuVersion | None:
        stmt = select(MenuVersion).where(MenuVersion.status == MenuStatus.PUBLISHED.value)
        return await self.session.scalar(stmt)

    async def next_version_number(self) -> int:
        latest = await self.session.scalar(select(func.max(MenuVersion.version)))
        return int(latest or 0) + 1

    async def list_recent(self, *, limit: int) -> list[MenuVersion]:
        stmt = select(MenuVersion).order_by(MenuVersion.version.desc()).limit(limit)
        return list(await self.session.scalars(stmt))

    async def supersede_published(self, *, except_id: int) -> None:
        stmt = (
            update(MenuVersion)
            .where(MenuVersion.status == MenuStatus.PUBLISHED.value, MenuVersion.id != except_id)
            .values(status=MenuStatus.SUPERSEDED.value)
        )
        await self.session.execute(stmt)

    async def list_publications(self, menu_version_id: int) -> list[MenuPublication]:
        stmt = (
            select(MenuPublication)
            .where(MenuPublication.menu_version_id == menu_version_id)
            .order_by(MenuPublication.id)
        )
        return list(await self.session.scalars(stmt))


class MenuPublicationRepository(Repository[MenuPublication]):
    pass
