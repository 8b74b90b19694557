"""core.db's dialect helpers: the same behaviour on PostgreSQL and on SQLite (embedded default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core.db import (
    BigIntPk,
    UtcDateTime,
    advisory_lock_holders,
    create_engine,
    fetch_ids_by_group,
    in_values,
    insert_rows,
    last_allocated_id,
    update_rows,
)

META = MetaData()
ITEM = Table(
    "core_db_item",
    META,
    Column("id", BigIntPk, primary_key=True, autoincrement=True),
    Column("grp", String(20), nullable=False),
    Column("n", Integer, nullable=False, default=0),
    Column("at", UtcDateTime, nullable=True),
)
T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["postgresql", "sqlite"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, engine: AsyncEngine
) -> AsyncIterator[AsyncSession]:
    """A session with the scratch table, on each dialect (PostgreSQL: rolled back at the end)."""
    if request.param == "postgresql":
        async with engine.connect() as conn:
            outer = await conn.begin()
            async with AsyncSession(bind=conn, join_transaction_mode="create_savepoint") as s:
                await s.run_sync(lambda sync: META.create_all(sync.connection()))
                yield s
            await outer.rollback()
        return
    lite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'core_db.sqlite'}")
    async with lite.begin() as conn:
        await conn.run_sync(META.create_all)
    async with AsyncSession(lite) as s:
        yield s
    await lite.dispose()


async def add(db: AsyncSession, *groups: str) -> list[int]:
    ids = []
    for grp in groups:
        ids.append(int((await db.execute(insert(ITEM).values(grp=grp))).inserted_primary_key[0]))
    return ids


async def table(db: AsyncSession) -> dict[int, tuple[str, int, datetime | None]]:
    found = await db.execute(select(ITEM.c.id, ITEM.c.grp, ITEM.c.n, ITEM.c.at))
    return {int(i): (g, int(n), at) for i, g, n, at in found.all()}


class TestUpdateRows:
    async def test_each_row_gets_its_own_values_where_it_matches(self, db):
        a, b, c = await add(db, "x", "x", "y")
        rows = [
            {"id": a, "grp": "x", "n": 5, "at": T0},
            {"id": b, "grp": "nope", "n": 6, "at": T0},  # the match on grp fails: untouched
            {"id": c, "grp": "y", "n": 7, "at": None},
        ]
        matched = await update_rows(
            db,
            ITEM,
            rows,
            match=("id", "grp"),
            assign=lambda v: {"n": v["n"] + 1, "at": v["at"]},
            returning=[ITEM.c.id, ITEM.c.n],
        )

        assert sorted(tuple(r) for r in matched) == [(a, 6), (c, 8)]
        assert await table(db) == {a: ("x", 6, T0), b: ("x", 0, None), c: ("y", 8, None)}

    async def test_where_guards_every_row_and_no_returning_gives_nothing(self, db):
        a, b = await add(db, "x", "y")
        rows = [{"id": a, "n": 1}, {"id": b, "n": 2}]

        matched = await update_rows(
            db, ITEM, rows, match=("id",), where=[ITEM.c.grp == "y"], assign=lambda v: {"n": v["n"]}
        )

        assert matched == []
        assert {i: n for i, (_, n, _) in (await table(db)).items()} == {a: 0, b: 2}

    async def test_no_rows_is_a_no_op(self, db):
        assert await update_rows(db, ITEM, [], match=("id",), assign=lambda v: {}) == []


class TestInsertRows:
    async def test_inserts_every_row_with_aware_timestamps(self, db):
        later = T0 + timedelta(seconds=1, microseconds=250)
        await insert_rows(
            db, ITEM, [{"grp": "x", "n": 1, "at": T0}, {"grp": "y", "n": 2, "at": later}]
        )
        await insert_rows(db, ITEM, [])

        assert sorted((await table(db)).values(), key=lambda r: r[1]) == [
            ("x", 1, T0),
            ("y", 2, later),
        ]


class TestFetchIdsByGroup:
    async def test_ids_per_group_ascending_within_the_selection(self, db):
        ids = await add(db, "b", "a", "b", "a", "b")
        picked = select(ITEM.c.id, ITEM.c.grp).where(ITEM.c.id > ids[0]).order_by(ITEM.c.id)

        by_group = await fetch_ids_by_group(db, picked.limit(3))

        assert by_group == {"a": [ids[1], ids[3]], "b": [ids[2]]}


class TestInValues:
    async def test_matches_exactly_the_given_values(self, db):
        ids = await add(db, "a", "b", "c", "d")
        for wanted in ([ids[1], ids[3]], [ids[0]], []):
            found = await db.scalars(select(ITEM.c.id).where(in_values(db, ITEM.c.id, wanted)))
            assert sorted(found.all()) == wanted


class TestLastAllocatedId:
    async def test_is_the_highest_id_handed_out(self, db):
        assert await last_allocated_id(db, ITEM) in (0, 1)  # an untouched sequence reads 1 or 0
        ids = await add(db, "x", "y")
        assert await last_allocated_id(db, ITEM) == ids[-1]


class TestAdvisoryLockHolders:
    async def test_lists_the_transactions_holding_the_key_until_they_end(self, engine):
        key = 7_260_998
        async with engine.connect() as a, engine.connect() as b, AsyncSession(engine) as s:
            assert await advisory_lock_holders(s, key) == frozenset()
            await a.begin()
            await a.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({key})")
            await b.begin()
            await b.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({key})")
            await b.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({key + 1})")
            holders = await advisory_lock_holders(s, key)
            assert holders == {await _vxid(a), await _vxid(b)}
            await b.commit()
            assert await advisory_lock_holders(s, key) == {await _vxid(a)}
            await a.rollback()
            assert await advisory_lock_holders(s, key) == frozenset()

    async def test_a_key_above_32_bits_is_matched_on_both_halves(self, engine):
        key = (5 << 32) + 7_260_997
        async with engine.connect() as holder, AsyncSession(engine) as s:
            await holder.begin()
            await holder.exec_driver_sql("SELECT pg_advisory_xact_lock_shared(7260997)")
            assert await advisory_lock_holders(s, key) == frozenset()  # same low half only
            await holder.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({key})")
            assert await advisory_lock_holders(s, key) == {await _vxid(holder)}
            await holder.rollback()

    async def test_a_waiting_transaction_counts_as_in_flight(self, engine):
        key = 7_260_996
        async with engine.connect() as owner, engine.connect() as waiter, AsyncSession(engine) as s:
            await owner.begin()
            await owner.exec_driver_sql(f"SELECT pg_advisory_xact_lock({key})")  # exclusive
            await waiter.begin()
            waiter_vxid = await _vxid(waiter)
            waiting = asyncio.create_task(
                waiter.exec_driver_sql(f"SELECT pg_advisory_xact_lock_shared({key})")
            )
            await asyncio.wait_for(_until_listed(s, key, waiter_vxid), 30)
            await owner.rollback()
            await asyncio.wait_for(waiting, 30)
            await waiter.rollback()

    async def test_sqlite_has_none(self, db):
        if db.get_bind().dialect.name == "sqlite":
            assert await advisory_lock_holders(db, 7_260_995) == frozenset()


async def _vxid(conn: AsyncConnection) -> str:
    """This connection's virtual transaction id (it has one once its transaction started)."""
    query = (
        "SELECT virtualtransaction FROM pg_locks"
        " WHERE pid = pg_backend_pid() AND locktype = 'virtualxid'"
    )
    return str((await conn.exec_driver_sql(query)).scalar_one())


async def _until_listed(session: AsyncSession, key: int, vxid: str) -> None:
    while vxid not in await advisory_lock_holders(session, key):  # noqa: ASYNC110 - another conn
        await asyncio.sleep(0.01)
