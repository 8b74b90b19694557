"""`wxbroker audit verify`, `staff create` and `push`: the ops commands behind app/cli.py."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import unit_of_work
from app.core.time import Clock
from app.ops import pushes, service
from app.ops.audit import ChainReport
from app.ops.constants import Role
from app.ops.schemas import DraftCreate, Principal, StaffCreate


async def verify_audit(sessionmaker: async_sessionmaker[AsyncSession]) -> ChainReport:
    """Recompute the whole chain; the caller prints the report and exits non-zero if broken."""
    async with sessionmaker() as session:
        return await service.verify_audit_chain(session)


async def create_staff(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    clock: Clock,
) -> int:
    """Create a staff member as the CLI (how the first admin is bootstrapped); audited."""
    data = StaffCreate(username=username, display_name=display_name, password=password, role=role)
    async with unit_of_work(sessionmaker) as session:
        user = await service.create_staff(
            session, actor=service.CLI_PRINCIPAL, data=data, now=clock.now()
        )
        return user.id


async def create_push_draft(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    data: DraftCreate,
    os_user: str,
    clock: Clock,
) -> int:
    """Store a broadcast from a file as a draft; it still needs an approver in the console.

    The CLI drafts as an operator, never approves: the four-eyes rule has no command-line bypass.
    """
    actor = Principal(
        ref=f"cli:{os_user}"[:64],
        name=f"wxbroker cli ({os_user})"[:64],
        role=Role.OPERATOR,
        via="cli",
    )
    async with unit_of_work(sessionmaker) as session:
        draft = await pushes.create_draft(session, actor=actor, data=data, now=clock.now())
        return draft.id
