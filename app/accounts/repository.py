"""SQL of the binding feature."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select, update

from app.accounts.models import AccountBinding, BindingAttempt
from app.core.repository import Repository

ACTIVE = AccountBinding.unbound_at.is_(None)


class BindingRepository(Repository[AccountBinding]):
    async def list_active_by_openid(self, openid: str) -> list[AccountBinding]:
        stmt = (
            select(AccountBinding)
            .where(AccountBinding.openid == openid, ACTIVE)
            .order_by(AccountBinding.is_default.desc(), AccountBinding.bound_at, AccountBinding.id)
        )
        return list(await self.session.scalars(stmt))

    async def list_bound_openids(self, openids: list[str]) -> set[str]:
        """Which of these openids have at least one active binding (one query)."""
        if not openids:
            return set()
        stmt = select(AccountBinding.openid).where(AccountBinding.openid.in_(openids), ACTIVE)
        return set(await self.session.scalars(stmt.distinct()))

    async def get_default_by_openid(self, openid: str) -> AccountBinding | None:
        stmt = (
            select(AccountBinding)
            .where(AccountBinding.openid == openid, ACTIVE)
            .order_by(AccountBinding.is_default.desc(), AccountBinding.bound_at.desc())
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def get_active_for_openid(self, openid: str, binding_id: int) -> AccountBinding | None:
        """The binding only when it is this fan's and active (the IDOR guard)."""
        stmt = select(AccountBinding).where(
            AccountBinding.id == binding_id, AccountBinding.openid == openid, ACTIVE
        )
        return await self.session.scalar(stmt)

    async def get_active_by_account(self, account_id: str) -> list[AccountBinding]:
        stmt = select(AccountBinding).where(AccountBinding.account_id == account_id, ACTIVE)
        return list(await self.session.scalars(stmt))

    async def count_active_by_openid(self, openid: str) -> int:
        stmt = select(func.count()).where(AccountBinding.openid == openid, ACTIVE)
        return int(await self.session.scalar(stmt) or 0)

    async def clear_default(self, openid: str) -> None:
        stmt = (
            update(AccountBinding)
            .where(AccountBinding.openid == openid, ACTIVE, AccountBinding.is_default.is_(True))
            .values(is_default=False)
        )
        await self.session.execute(stmt)

    async def mark_unbound(self, binding: AccountBinding, *, at: datetime, reason: str) -> None:
        binding.unbound_at = at
        binding.unbind_reason = reason
        binding.is_default = False
        await self.session.flush()


class AttemptRepository(Repository[BindingAttempt]):
    async def list_by_openid(self, openid: str) -> list[BindingAttempt]:
        stmt = select(BindingAttempt).where(BindingAttempt.openid == openid)
        return list(await self.session.scalars(stmt.order_by(BindingAttempt.id)))


def bound_openids_stmt(client_id: str) -> Select[str]:
    """openids with an active binding to any account of a brokerage client."""
    return (
        select(AccountBinding.openid)
        .where(AccountBinding.client_id == client_id, ACTIVE)
        .distinct()
    )
