"""Generic repository base: the only layer that builds SQL."""

from __future__ import annotations

from typing import Generic, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Base

ModelT = TypeVar("ModelT", bound=Base)


class Repository(Generic[ModelT]):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, obj: ModelT) -> ModelT:
        """Add and flush so generated ids exist; never commits."""
        self.session.add(obj)
        await self.session.flush()
        return obj
