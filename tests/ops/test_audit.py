"""The audit chain: hashing, verification, append-only triggers, tamper detection."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.ops import service
from app.ops.audit import row_hash, verify_chain
from app.ops.constants import GENESIS_HASH

NOW = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def _chain(n: int) -> list[dict[str, object]]:
    rows, prev = [], GENESIS_HASH
    for seq in range(1, n + 1):
        row: dict[str, object] = {
            "seq": seq,
            "at": NOW,
            "actor": "staff:1",
            "actor_name": "alice",
            "action": "push.draft.create",
            "target_type": "push_draft",
            "target_id": str(seq),
            "before": None,
            "after": {"title": f"通知 {seq}"},
            "ip": "10.0.0.1",
            "prev_hash": prev,
        }
        row["hash"] = prev = row_hash(row)
        rows.append(row)
    return rows


class TestVerifyChain:
    def test_an_untouched_chain_verifies(self) -> None:
        report = verify_chain(_chain(5), head_hash=_chain(5)[-1]["hash"])  # type: ignore[arg-type]
        assert report.ok
        assert report.rows == 5

    @pytest.mark.parametrize("field", ["actor", "action", "after", "at", "ip", "target_id"])
    def test_a_changed_field_breaks_the_chain_at_that_row(self, field: str) -> None:
        rows = _chain(5)
        rows[2][field] = {"x": 1} if field == "after" else "tampered"
        report = verify_chain(rows)
        assert not report.ok
        assert report.first_bad_seq == 3

    def test_a_removed_row_is_caught(self) -> None:
        rows = _chain(5)
        del rows[1]
        assert verify_chain(rows).first_bad_seq == 3

    def test_a_recomputed_hash_still_breaks_the_next_link(self) -> None:
        rows = _chain(4)
        rows[1]["actor_name"] = "mallory"
        rows[1]["hash"] = row_hash(rows[1])
        report = verify_chain(rows)
        assert report.first_bad_seq == 3
        assert "prev_hash" in (report.reason or "")

    def test_rows_cut_off_the_end_are_caught_by_the_head(self) -> None:
        rows = _chain(4)
        report = verify_chain(rows[:3], head_hash=str(rows[3]["hash"]))
        assert not report.ok


async def _record(session: AsyncSession, n: int) -> None:
    for i in range(n):
        await service.record_audit(
            session,
            actor=service.CLI_PRINCIPAL,
            action="test.action",
            target_type="thing",
            target_id=i,
            before={"n": i},
            after={"n": i + 1, "名字": "张三"},
            now=NOW,
        )
    await session.commit()


class TestAuditLogInDatabase:
    async def test_recorded_rows_verify(self, session: AsyncSession) -> None:
        await _record(session, 3)
        report = await service.verify_audit_chain(session)
        assert report.ok
        assert report.rows == 3

    async def test_the_database_refuses_update_and_delete(self, session: AsyncSession) -> None:
        await _record(session, 1)
        for statement in ("UPDATE audit_log SET actor_name = 'x'", "DELETE FROM audit_log"):
            nested = await session.begin_nested()
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
            await nested.rollback()

    async def test_a_tampered_row_is_caught(self, session: AsyncSession) -> None:
        await _record(session, 4)
        # Tampering needs the triggers off (a superuser with replication role could do this).
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(text("UPDATE audit_log SET after = '{\"n\": 99}' WHERE seq = 2"))
        report = await service.verify_audit_chain(session)
        assert not report.ok
        assert report.first_bad_seq == 2

    async def test_a_deleted_row_is_caught(self, session: AsyncSession) -> None:
        await _record(session, 4)
        await session.execute(text("SET LOCAL session_replication_role = replica"))
        await session.execute(text("DELETE FROM audit_log WHERE seq = 4"))
        report = await service.verify_audit_chain(session)
        assert not report.ok


class TestConcurrentAppends:
    async def test_parallel_writers_keep_one_linear_chain(
        self, engine: AsyncEngine, truncate_tables: None
    ) -> None:
        import asyncio

        from app.core.db import create_sessionmaker, unit_of_work

        maker = create_sessionmaker(engine)
        async with engine.begin() as conn:  # as after a TRUNCATE: the writers race to seed it
            await conn.execute(text("DELETE FROM audit_head"))

        async def write(i: int) -> None:
            async with unit_of_work(maker) as s:
                await service.record_audit(
                    s,
                    actor=service.CLI_PRINCIPAL,
                    action="race",
                    target_type="t",
                    target_id=i,
                    now=NOW,
                )

        await asyncio.gather(*(write(i) for i in range(10)))
        async with maker() as s:
            report = await service.verify_audit_chain(s)
        assert report.ok
        assert report.rows == 10
