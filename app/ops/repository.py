"""SQL over the ops feature's own tables: staff, API keys, audit chain, drafts, approvals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import insert_ignoring_conflicts
from app.core.repository import Repository
from app.ops.constants import AUDIT_HEAD_ID, GENESIS_HASH, OPEN_DRAFT_STATUSES, DraftStatus
from app.ops.models import ApiKey, ApprovalRequest, AuditHead, AuditLog, PushDraft, StaffUser


class StaffRepository(Repository[StaffUser]):
    async def get(self, staff_id: int) -> StaffUser | None:
        return await self.session.get(StaffUser, staff_id, populate_existing=True)

    async def get_by_username(self, username: str) -> StaffUser | None:
        stmt = select(StaffUser).where(StaffUser.username == username)
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def list_all(self) -> list[StaffUser]:
        return list(await self.session.scalars(select(StaffUser).order_by(StaffUser.id)))

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(StaffUser)) or 0)


class ApiKeyRepository(Repository[ApiKey]):
    async def get(self, key_id: int) -> ApiKey | None:
        return await self.session.get(ApiKey, key_id, populate_existing=True)

    async def get_active_by_public_id(self, public_id: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.public_id == public_id, ApiKey.revoked_at.is_(None))
        return await self.session.scalar(stmt)

    async def list_all(self) -> list[ApiKey]:
        return list(await self.session.scalars(select(ApiKey).order_by(ApiKey.id)))

    async def touch(self, key_id: int, *, now: datetime) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now)
        )


class AuditRepository:
    """Appends only: there is deliberately no update or delete method here."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_head(self) -> AuditHead:
        """The chain head, row-locked until commit (concurrent appenders queue here)."""
        stmt = select(AuditHead).where(AuditHead.id == AUDIT_HEAD_ID).with_for_update()
        head = await self.session.scalar(stmt.execution_options(populate_existing=True))
        if head is None:
            # The migration seeds the row; after a TRUNCATE (tests) or create_all, concurrent
            # first appenders may race to recreate it: insert-if-missing, then lock.
            dialect = self.session.get_bind().dialect.name
            insert = insert_ignoring_conflicts(dialect, AuditHead.__table__, ["id"])
            await self.session.execute(insert.values(id=AUDIT_HEAD_ID, seq=0, hash=GENESIS_HASH))
            head = await self.session.scalar(stmt.execution_options(populate_existing=True))
        assert head is not None
        return head

    async def append(self, head: AuditHead, row: AuditLog) -> AuditLog:
        self.session.add(row)
        head.seq, head.hash = row.seq, row.hash
        await self.session.flush()
        return row

    async def get_head(self) -> AuditHead | None:
        return await self.session.get(AuditHead, AUDIT_HEAD_ID, populate_existing=True)

    async def list_recent(
        self,
        *,
        limit: int,
        before_seq: int | None = None,
        target_type: str | None = None,
        target_id: str | None = None,
    ) -> list[AuditLog]:
        stmt = select(AuditLog).order_by(AuditLog.seq.desc()).limit(limit)
        if before_seq is not None:
            stmt = stmt.where(AuditLog.seq < before_seq)
        if target_type is not None:
            stmt = stmt.where(AuditLog.target_type == target_type)
        if target_id is not None:
            stmt = stmt.where(AuditLog.target_id == target_id)
        return list(await self.session.scalars(stmt))

    async def iterate(self, *, batch: int = 1000) -> AsyncIterator[AuditLog]:
        """Every row in seq order, in pages (the verifier streams the whole log)."""
        after = 0
        while True:
            stmt = select(AuditLog).where(AuditLog.seq > after).order_by(AuditLog.seq).limit(batch)
            rows = list(await self.session.scalars(stmt.execution_options(populate_existing=True)))
            for row in rows:
                yield row
            if len(rows) < batch:
                return
            after = rows[-1].seq


class DraftRepository(Repository[PushDraft]):
    async def get(self, draft_id: int, *, for_update: bool = False) -> PushDraft | None:
        stmt = select(PushDraft).where(PushDraft.id == draft_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def list_recent(self, *, limit: int, status: str | None = None) -> list[PushDraft]:
        stmt = select(PushDraft).order_by(PushDraft.id.desc()).limit(limit)
        if status is not None:
            stmt = stmt.where(PushDraft.status == status)
        return list(await self.session.scalars(stmt))

    async def claim_due(self, *, now: datetime, limit: int) -> Sequence[PushDraft]:
        """Scheduled drafts whose time came, locked; other schedulers skip them."""
        stmt = (
            select(PushDraft)
            .where(PushDraft.status == DraftStatus.SCHEDULED, PushDraft.scheduled_at <= now)
            .order_by(PushDraft.scheduled_at, PushDraft.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(stmt.execution_options(populate_existing=True)))

    async def count_open(self) -> int:
        stmt = select(func.count()).where(PushDraft.status.in_([*OPEN_DRAFT_STATUSES]))
        return int(await self.session.scalar(stmt) or 0)


class ApprovalRepository(Repository[ApprovalRequest]):
    async def get(self, request_id: int, *, for_update: bool = False) -> ApprovalRequest | None:
        stmt = select(ApprovalRequest).where(ApprovalRequest.id == request_id)
        if for_update:
            stmt = stmt.with_for_update()
        return await self.session.scalar(stmt.execution_options(populate_existing=True))

    async def list_recent(self, *, kind: str, limit: int) -> list[ApprovalRequest]:
        stmt = (
            select(ApprovalRequest)
            .where(ApprovalRequest.kind == kind)
            .order_by(ApprovalRequest.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))
