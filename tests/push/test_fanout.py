"""insert_deliveries_from_select: the fan-out's INSERT … SELECT, and what its rows send."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Select, event, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import UtcDateTime, create_engine, unit_of_work
from app.core.migrate import run_on_engine
from app.fans.models import Fan
from app.push import service
from app.push.errors import AlertNotFoundError, AlertWithoutTemplateError
from app.push.models import Alert, Delivery
from app.push.repository import DeliveryRepository
from app.push.worker import WorkerContext, run_once
from tests.push.conftest import FakeWeChat, add_alert, api_error, relay

AT = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
DATA = {"thing1": "贵州茅台(600519)", "amount2": "¥1800.50"}


async def _fans(session: AsyncSession, openids: Sequence[str]) -> None:
    session.add_all(Fan(openid=o, is_subscribed=True, subscribe_count=1) for o in openids)
    await session.flush()


def _subscribed(openids: Sequence[str]) -> Select[tuple[str]]:
    return select(Fan.openid).where(Fan.openid.in_(list(openids)), Fan.is_subscribed.is_(True))


async def _alert(session: AsyncSession, *, template: bool = True, **kw: object) -> Alert:
    content = {"template_id": "TPL_IPO", "data": DATA, "url": "https://wx/h5/ipo"}
    return await service.create_alert(
        session,
        alert_type="ipo_listing",
        severity=str(kw.pop("severity", "market")),
        payload={},
        expires_at=AT + timedelta(minutes=30),
        **(content if template else {}),
    )


async def _rows(session: AsyncSession, alert_id: int) -> list[Delivery]:
    stmt = select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.openid)
    return list(await session.scalars(stmt.execution_options(populate_existing=True)))


class TestInsertDeliveriesFromSelect:
    async def test_one_pending_row_per_recipient_with_the_alerts_lane_and_expiry(
        self, session: AsyncSession
    ) -> None:
        await _fans(session, ["o1", "o2", "o3"])
        alert = await _alert(session)
        added = await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed(["o1", "o3"])
        )
        rows = await _rows(session, alert.id)
        assert added == 2
        assert [(r.openid, r.status, r.severity, r.expires_at) for r in rows] == [
            ("o1", "pending", "market", AT + timedelta(minutes=30)),
            ("o3", "pending", "market", AT + timedelta(minutes=30)),
        ]
        # The template is stored once, on the alert; the rows point at it (NULL).
        assert {(r.template_id, r.next_attempt_at) for r in rows} == {(None, None)}

    async def test_next_attempt_at_from_the_select_defers_that_fan(
        self, session: AsyncSession
    ) -> None:
        await _fans(session, ["o1"])
        alert = await _alert(session, severity="transactional")
        later = AT + timedelta(hours=8)
        recipients = select(Fan.openid, literal(later, UtcDateTime()).label("next_attempt_at"))
        await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=recipients.where(Fan.openid == "o1")
        )
        [row] = await _rows(session, alert.id)
        assert row.next_attempt_at == later

    async def test_fanning_out_again_into_the_alert_adds_only_missing_fans(
        self, session: AsyncSession
    ) -> None:
        await _fans(session, ["o1", "o2", "o3"])
        alert = await _alert(session)
        first = await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
        )
        again = await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed(["o1", "o2", "o3"])
        )
        assert (first, again) == (2, 1)
        assert [r.openid for r in await _rows(session, alert.id)] == ["o1", "o2", "o3"]

    async def test_the_alert_records_the_id_range_of_its_rows(self, session: AsyncSession) -> None:
        await _fans(session, ["o3", "o1", "o2"])
        alert = await _alert(session)
        assert alert.first_delivery_id is not None  # set as the alert is inserted
        assert alert.last_delivery_id is None  # no rows yet
        await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed(["o1", "o2", "o3"])
        )
        ids = [r.id for r in await _rows(session, alert.id)]
        await session.refresh(alert)
        assert alert.first_delivery_id is not None
        assert alert.last_delivery_id is not None
        assert alert.first_delivery_id <= min(ids)
        assert max(ids) <= alert.last_delivery_id
        assert (await service.get_alert_status(session, alert.id)).total == 3

    async def test_an_alert_without_rows_has_no_range_and_counts_none(
        self, session: AsyncSession
    ) -> None:
        await _fans(session, ["o1"])
        alert = await _alert(session)
        added = await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed([])
        )
        await session.refresh(alert)
        assert (added, alert.last_delivery_id) == (0, None)
        assert (await service.get_alert_status(session, alert.id)).total == 0

    async def test_an_unknown_alert_is_refused(self, session: AsyncSession) -> None:
        await _fans(session, ["o1"])
        with pytest.raises(AlertNotFoundError):
            await service.insert_deliveries_from_select(
                session, alert_id=987654, recipients=_subscribed(["o1"])
            )

    async def test_an_alert_without_its_template_is_refused(self, session: AsyncSession) -> None:
        await _fans(session, ["o1"])
        alert = await _alert(session, template=False)
        with pytest.raises(AlertWithoutTemplateError):
            await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o1"])
            )
        assert await _rows(session, alert.id) == []


class Statements:
    """The SQL the engine sends while listening."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine, self.sent = engine.sync_engine, []

    def _record(self, _conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self.sent

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._record)


def _guards(sent: Sequence[str]) -> list[str]:
    """The alert lock of the locked path and the anti-join of a replay."""
    return [q for q in sent if "FOR NO KEY UPDATE" in q or "NOT (EXISTS" in q]


class TestNewAlertFastPath:
    """An alert created in the same transaction needs neither the lock nor the check."""

    async def test_a_new_alerts_first_fan_out_skips_the_lock_and_the_check(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            await _fans(session, ["o1", "o2"])
            alert = await _alert(session)
            with Statements(engine) as sent:
                added = await service.insert_deliveries_from_select(
                    session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
                )
            assert added == 2
            assert _guards(sent) == []
            assert len(sent) == 2  # the INSERT, then the alert's range
            with Statements(engine) as sent:  # a replay in the same transaction: checked
                again = await service.insert_deliveries_from_select(
                    session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
                )
            assert again == 0
            assert len(_guards(sent)) == 2

    async def test_a_short_list_inserts_and_widens_the_range_in_one_statement(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            await _fans(session, ["o1", "o2", "o3"])
            alert = await _alert(session)
            with Statements(engine) as sent:
                added = await service.insert_deliveries_from_select(
                    session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"]), few=True
                )
            assert (added, len(sent)) == (2, 1)
            ids = [r.id for r in await _rows(session, alert.id)]
            assert alert.first_delivery_id is not None
            assert alert.last_delivery_id == max(ids)
            assert alert.first_delivery_id <= min(ids)
            again = await service.insert_deliveries_from_select(  # a replay: locked, anti-join
                session, alert_id=alert.id, recipients=_subscribed(["o2", "o3"]), few=True
            )
            none = await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed([]), few=True
            )
        assert (again, none) == (1, 0)
        async with sessionmaker() as session:
            assert [r.openid for r in await _rows(session, alert.id)] == ["o1", "o2", "o3"]
            assert (await service.get_alert_status(session, alert.id)).total == 3

    async def test_a_short_list_with_nobody_leaves_the_alert_without_rows(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            alert = await _alert(session)
            added = await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["nobody"]), few=True
            )
        async with sessionmaker() as session:
            stored = await session.get(Alert, alert.id)
            assert stored is not None
            assert (added, stored.last_delivery_id) == (0, None)
            assert (await service.get_alert_status(session, alert.id)).total == 0

    async def test_an_alert_of_an_earlier_transaction_takes_the_locked_path(
        self, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as session:
            await _fans(session, ["o1"])
            alert = await _alert(session)
            await session.commit()  # same session, next transaction: others may see it now
            with Statements(engine) as sent:
                await service.insert_deliveries_from_select(
                    session, alert_id=alert.id, recipients=_subscribed(["o1"])
                )
            await session.commit()
        assert len(_guards(sent)) == 1  # locked; no rows yet, so no anti-join

    async def test_rows_added_by_create_deliveries_first_make_it_a_replay(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            await _fans(session, ["o1", "o2"])
            alert = await _alert(session)
            await service.create_deliveries(
                session, alert=alert, template_id="TPL_OWN", recipients=[("o1", {"k": "v"})]
            )
            added = await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
            )
        assert added == 1  # o1 kept its own row: no unique violation, no second row

    async def test_an_alert_rolled_back_with_its_savepoint_is_not_found(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with sessionmaker() as session:
            await _fans(session, ["o1"])
            savepoint = await session.begin_nested()
            alert_id = (await _alert(session)).id
            await savepoint.rollback()
            with pytest.raises(AlertNotFoundError):
                await service.insert_deliveries_from_select(
                    session, alert_id=alert_id, recipients=_subscribed(["o1"])
                )
            assert await session.scalar(select(func.count()).select_from(Delivery)) == 0
            await session.rollback()


class TestOneRowPerFanAcrossTransactions:
    """No unique index: the alert's row lock and the replay's anti-join keep one row per fan,
    and the alert's id range holds its rows however producers interleave (PostgreSQL)."""

    async def _committed_alert(self, sessionmaker: async_sessionmaker[AsyncSession]) -> int:
        async with unit_of_work(sessionmaker) as session:
            return (await _alert(session)).id

    async def test_concurrent_fan_outs_into_one_alert_add_each_fan_once(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        async with unit_of_work(sessionmaker) as session:
            await _fans(session, ["o1", "o2", "o3"])
        alert_id = await self._committed_alert(sessionmaker)
        async with sessionmaker() as first:
            added_first = await service.insert_deliveries_from_select(
                first, alert_id=alert_id, recipients=_subscribed(["o1", "o2"])
            )

            async def second() -> int:
                async with unit_of_work(sessionmaker) as session:
                    return await service.insert_deliveries_from_select(
                        session, alert_id=alert_id, recipients=_subscribed(["o1", "o2", "o3"])
                    )

            racing = asyncio.create_task(second())
            await asyncio.sleep(0.3)
            assert not racing.done()  # waits for the alert's row lock
            await first.commit()
            added_second = await asyncio.wait_for(racing, 5)
        assert (added_first, added_second) == (2, 1)
        async with sessionmaker() as session:
            assert [r.openid for r in await _rows(session, alert_id)] == ["o1", "o2", "o3"]

    async def test_interleaved_producers_each_count_exactly_their_own_rows(
        self, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> None:
        fans = [f"o{i:03d}" for i in range(60)]
        async with unit_of_work(sessionmaker) as session:
            await _fans(session, fans)
        alerts = [await self._committed_alert(sessionmaker) for _ in range(3)]
        sessions = [sessionmaker() for _ in alerts]
        expected: dict[int, set[str]] = {a: set() for a in alerts}
        try:
            # Round robin: each producer's ids are spread among the others' (open transactions).
            for start in range(0, 60, 10):
                for alert_id, session in zip(alerts, sessions, strict=True):
                    batch = fans[start : start + 10 + alert_id % 3]
                    await service.insert_deliveries_from_select(
                        session, alert_id=alert_id, recipients=_subscribed(batch)
                    )
                    expected[alert_id] |= set(batch)
            for session in sessions[:-1]:
                await session.commit()
            await sessions[-1].rollback()  # the last producer's rows never land
        finally:
            for session in sessions:
                await session.close()
        del expected[alerts[-1]]
        async with sessionmaker() as session:
            for alert_id, openids in expected.items():
                assert (await service.get_alert_status(session, alert_id)).total == len(openids)
                ids = await DeliveryRepository(session).list_ids_for_alert(alert_id)
                assert sorted(r.id for r in await _rows(session, alert_id)) == ids
                assert {r.openid for r in await _rows(session, alert_id)} == openids
            assert (await service.get_alert_status(session, alerts[-1])).total == 0


class TestFanOutRowsDownstream:
    async def test_the_worker_sends_the_alerts_template_to_each_fan(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        async with unit_of_work(ctx.sessionmaker) as session:
            await _fans(session, ["o1", "o2"])
            alert = await _alert(session, severity="transactional")
            alert.expires_at = None
            await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
            )
        # A list-made row (its own template) in the same batch keeps its own.
        await add_alert(ctx.sessionmaker, ["o3"], template_id="TPL_OWN")
        await relay(ctx)
        while await run_once(ctx):
            pass
        sent = {m["openid"]: (m["template_id"], m["data"], m["url"]) for m in fake_wechat.sent}
        assert sent == {
            "o1": ("TPL_IPO", DATA, "https://wx/h5/ipo"),
            "o2": ("TPL_IPO", DATA, "https://wx/h5/ipo"),
            "o3": ("TPL_OWN", {"thing1": "fill for o3"}, None),
        }

    async def test_a_dead_lettered_fan_out_row_lists_the_alerts_template(
        self, ctx: WorkerContext, fake_wechat: FakeWeChat
    ) -> None:
        async with unit_of_work(ctx.sessionmaker) as session:
            await _fans(session, ["o1"])
            alert = await _alert(session, severity="transactional")
            alert.expires_at = None
            await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o1"])
            )
        fake_wechat.fail("o1", api_error(40037))  # template id wrong: ops fix it and re-drive
        await relay(ctx)
        while await run_once(ctx):
            pass
        async with ctx.sessionmaker() as session:
            page = await service.list_dead_letters(session)
        assert [(i.openid_masked[:2], i.template_id) for i in page.items] == [("o1", "TPL_IPO")]

    async def test_the_status_api_shows_the_alerts_template(self, session: AsyncSession) -> None:
        await _fans(session, ["o1"])
        alert = await _alert(session)
        await service.insert_deliveries_from_select(
            session, alert_id=alert.id, recipients=_subscribed(["o1"])
        )
        [row] = await _rows(session, alert.id)
        read = await service.get_delivery(session, row.id)
        assert (read.template_id, read.severity, read.status) == ("TPL_IPO", "market", "pending")


@pytest.mark.embedded
async def test_both_insert_paths_run_on_sqlite(tmp_path: Path) -> None:
    """The embedded default (SQLite): a new alert's INSERT, a replay's anti-join, the range."""
    lite = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fanout.sqlite'}")
    await run_on_engine(lite, "upgrade", "head")
    try:
        async with AsyncSession(lite, expire_on_commit=False) as session:
            await _fans(session, ["o2", "o1", "o3"])
            alert = await _alert(session)
            first = await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o1", "o2"])
            )
            again = await service.insert_deliveries_from_select(
                session, alert_id=alert.id, recipients=_subscribed(["o2", "o3"]), few=True
            )  # `few` is a PostgreSQL statement: SQLite takes the two-statement path
            await session.commit()
            assert (first, again) == (2, 1)
            assert [r.openid for r in await _rows(session, alert.id)] == ["o1", "o2", "o3"]
            assert (await service.get_alert_status(session, alert.id)).total == 3
    finally:
        await lite.dispose()
