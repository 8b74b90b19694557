"""core.db's dialect helpers: the same behaviour on PostgreSQL and on SQLite (embedded default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy import (
    JSON,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.core import db as core_db
from app.core.db import (
    BigIntPk,
    UtcDateTime,
    advisory_lock_holders,
    create_engine,
    create_sessionmaker,
    execute_compiled,
    execute_hot,
    fetch_ids_by_group,
    in_param,
    in_values,
    insert_rows,
    last_allocated_id,
    retry_on_disconnect,
    unit_of_work,
    update_rows,
)
from tests.conftest import PG_ADMIN_URL, TEST_DB_NAME, pg_url

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


@pytest.fixture(params=[None, "compiled"])
def key(request: pytest.FixtureRequest) -> str | None:
    """update_rows/insert_rows as SQLAlchemy runs them, and compiled once (`execute_compiled`)."""
    return None if request.param is None else f"{request.node.originalname}-{request.param}"


class TestUpdateRows:
    async def test_each_row_gets_its_own_values_where_it_matches(self, db, key):
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
            key=key,
        )

        assert sorted(tuple(r) for r in matched) == [(a, 6), (c, 8)]
        assert await table(db) == {a: ("x", 6, T0), b: ("x", 0, None), c: ("y", 8, None)}

    async def test_where_guards_every_row_and_no_returning_gives_nothing(self, db, key):
        a, b = await add(db, "x", "y")
        rows = [{"id": a, "n": 1}, {"id": b, "n": 2}]

        matched = await update_rows(
            db, ITEM, rows, match=("id",), where=[ITEM.c.grp == "y"],
            assign=lambda v: {"n": v["n"]}, key=key,
        )  # fmt: skip

        assert matched == []
        assert {i: n for i, (_, n, _) in (await table(db)).items()} == {a: 0, b: 2}

    async def test_no_rows_is_a_no_op(self, db):
        assert await update_rows(db, ITEM, [], match=("id",), assign=lambda v: {}) == []


class TestInsertRows:
    async def test_inserts_every_row_with_aware_timestamps(self, db, key):
        later = T0 + timedelta(seconds=1, microseconds=250)
        await insert_rows(
            db, ITEM, [{"grp": "x", "n": 1, "at": T0}, {"grp": "y", "n": 2, "at": later}], key=key
        )
        await insert_rows(db, ITEM, [], key=key)

        assert sorted((await table(db)).values(), key=lambda r: r[1]) == [
            ("x", 1, T0),
            ("y", 2, later),
        ]


class TestExecuteHot:
    """A hot statement compiled once per key: bound values change, constants stay."""

    @staticmethod
    def _bump() -> Any:
        return (
            update(ITEM)
            .where(ITEM.c.grp == "x", ITEM.c.n < bindparam("below"))
            .values(n=ITEM.c.n + bindparam("step"))
            .returning(ITEM.c.id, ITEM.c.n)
        )

    async def test_compiled_once_then_run_with_each_calls_values(self, db):
        a, _b = await add(db, "x", "y")
        built: list[int] = []

        def build() -> Any:
            built.append(1)
            return self._bump()

        key = ("test-bump", db.get_bind().dialect.name)
        first = await execute_hot(db, key, build, {"below": 10, "step": 3})
        second = await execute_hot(db, key, build, {"below": 10, "step": 4})
        third = await execute_hot(db, key, build, {"below": 5, "step": 100})

        assert [tuple(r) for r in first] == [(a, 3)]
        assert [tuple(r) for r in second] == [(a, 7)]  # `grp = 'x'` kept, the y row untouched
        assert [tuple(r) for r in third] == []
        assert built == ([1] if db.get_bind().dialect.name == "postgresql" else [1, 1, 1])

    async def test_rows_come_back_as_the_driver_decodes_them(self, db):
        [a] = await add(db, "x")
        stmt = update(ITEM).values(at=bindparam("at", type_=UtcDateTime)).returning(ITEM.c.at)
        rows = await execute_hot(
            db, ("test-at", db.get_bind().dialect.name), lambda: stmt, {"at": T0}
        )
        assert rows[0].at == T0
        assert rows[0].at.utcoffset() == timedelta(0)
        assert (await table(db))[a][2] == T0

    async def test_in_param_matches_exactly_the_given_values(self, db):
        ids = await add(db, "a", "b", "c", "d")

        def build() -> Any:
            picked = in_param(db, ITEM.c.id, "ids")
            return select(ITEM.c.grp).where(picked).order_by(ITEM.c.grp)

        key = ("test-in-param", db.get_bind().dialect.name)
        rows = await execute_hot(db, key, build, {"ids": [ids[1], ids[3]]})
        assert [r[0] for r in rows] == ["b", "d"]
        assert await execute_hot(db, key, build, {"ids": []}) == []

    async def test_execute_compiled_refuses_an_expanding_in(self, engine):
        async with AsyncSession(engine) as s:
            stmt = select(ITEM.c.id).where(ITEM.c.id.in_(bindparam("ids", expanding=True)))
            with pytest.raises(ValueError, match="expanding"):
                await execute_compiled(s, "test-expanding", lambda: stmt, {"ids": [1]})

    async def test_execute_compiled_refuses_sqlite(self, tmp_path):
        lite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'refuse.sqlite'}")
        async with AsyncSession(lite) as s:
            with pytest.raises(NotImplementedError):
                await execute_compiled(s, "test-refuse", lambda: select(1), {})
        await lite.dispose()


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


class TestConnectionLoss:
    """No pre-ping round trips: closed connections are dropped at checkout, and hot paths
    retry once when a connection died unseen (a database restart)."""

    @pytest.fixture
    async def small_engine(self, engine: AsyncEngine) -> AsyncIterator[AsyncEngine]:
        eng = create_engine(pg_url(TEST_DB_NAME), pool_size=1)  # `engine` created the database
        yield eng
        await eng.dispose()

    async def test_a_connection_the_server_closed_is_replaced_at_checkout(self, small_engine):
        first = await _backend_pid(small_engine)
        await _terminate(first)
        await asyncio.sleep(0.2)  # the driver reads the server's goodbye while pooled
        assert await _backend_pid(small_engine) not in (first, None)

    async def test_checkout_costs_no_round_trip(self, small_engine, monkeypatch):
        await _backend_pid(small_engine)
        pings: list[int] = []
        conn_type = AsyncAdapt_asyncpg_connection
        original = conn_type.ping
        monkeypatch.setattr(conn_type, "ping", lambda self: (pings.append(1), original(self))[1])
        sessions = create_sessionmaker(small_engine)
        async with unit_of_work(sessions) as s:
            await s.execute(select(func.pg_backend_pid()))
        assert pings == []  # pool_pre_ping would have sent BEGIN, `;` and ROLLBACK first

    async def test_work_runs_again_once_when_its_connection_died_unseen(
        self, small_engine, monkeypatch
    ):
        sessions = create_sessionmaker(small_engine)
        first = await _backend_pid(small_engine)
        monkeypatch.setattr(core_db, "is_closed", lambda _conn: False)  # as if not seen yet
        await _terminate(first)
        await asyncio.sleep(0.2)
        calls: list[int] = []

        async def work(s: AsyncSession) -> int:
            calls.append(1)
            return int(await s.scalar(select(func.pg_backend_pid())) or 0)

        assert await retry_on_disconnect(sessions, work) not in (first, 0)
        assert len(calls) == 2

    async def test_other_errors_are_not_retried(self, small_engine):
        sessions = create_sessionmaker(small_engine)
        calls: list[int] = []

        async def work(s: AsyncSession) -> None:
            calls.append(1)
            await s.execute(text("SELECT * FROM no_such_table"))

        with pytest.raises(DBAPIError):
            await retry_on_disconnect(sessions, work)
        assert len(calls) == 1


async def _backend_pid(engine: AsyncEngine) -> int | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(func.pg_backend_pid()))


async def _terminate(pid: int | None) -> None:
    admin = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await admin.execute("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


class TestJsonColumns:
    async def test_postgresql_json_columns_decode_big_integers(self, engine):
        async with engine.connect() as conn:
            value = await conn.scalar(
                select(cast(text("'{\"n\": 123456789012345678901234567890}'"), JSON))
            )
        assert value == {"n": 123456789012345678901234567890}
