"""The six conversion paths on constructed histories, per channel and period, on PostgreSQL
and on SQLite (the embedded default), plus the CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import funnel
from app.campaigns.constants import FUNNEL_PATHS, Attribution
from app.campaigns.errors import InvalidPeriodError
from app.campaigns.models import Channel, ConversionEvent, Person
from app.core.db import Base, create_engine
from tests.campaigns.conftest import T0, make_channel

DAY = timedelta(days=1)
START, END = T0, T0 + 30 * DAY
FAN, APP, CUSTOMER = "followed", "app_activated", "account_opened"

# One person per path: (first step, second step), both inside the period.
PATHS = {
    "fan_to_app_user": (FAN, APP),
    "fan_to_customer": (FAN, CUSTOMER),
    "app_user_to_fan": (APP, FAN),
    "app_user_to_customer": (APP, CUSTOMER),
    "customer_to_fan": (CUSTOMER, FAN),
    "customer_to_app_user": (CUSTOMER, APP),
}


async def journey(
    session: AsyncSession,
    steps: list[tuple[str, datetime]],
    *,
    first: Channel | None = None,
    last: Channel | None = None,
) -> Person:
    person = Person(
        first_channel_id=first.id if first else None,
        last_channel_id=(last or first).id if (last or first) else None,
        created_at=T0,
    )
    session.add(person)
    await session.flush()
    for i, (kind, at) in enumerate(steps):
        session.add(
            ConversionEvent(
                event_id=f"p{person.id}-{i}",
                person_id=person.id,
                kind=kind,
                occurred_at=at,
                received_at=at,
            )
        )
    await session.flush()
    return person


def counts(report: funnel.FunnelReport, channel: str | None) -> dict[str, int]:
    row = next(r for r in report.rows if r.channel == channel)
    return {path: getattr(row, path) for path in FUNNEL_PATHS}


async def build_every_path(session: AsyncSession, channel: Channel) -> None:
    for source, target in PATHS.values():
        await journey(session, [(source, T0 + DAY), (target, T0 + 2 * DAY)], first=channel)


class TestSixPaths:
    async def test_each_path_counts_its_person_once(self, session: AsyncSession) -> None:
        channel = await make_channel(session, "all-paths")
        await build_every_path(session, channel)

        report = await funnel.funnel_report(session, start=START, end=END)

        assert counts(report, "all-paths") == dict.fromkeys(FUNNEL_PATHS, 1)
        assert report.totals.channel == "TOTAL"

    @pytest.mark.parametrize("path", list(PATHS))
    async def test_one_person_one_path(self, session: AsyncSession, path: str) -> None:
        channel = await make_channel(session, "one")
        source, target = PATHS[path]
        await journey(session, [(source, T0 + DAY), (target, T0 + 3 * DAY)], first=channel)

        report = await funnel.funnel_report(session, start=START, end=END)

        expected = dict.fromkeys(FUNNEL_PATHS, 0) | {path: 1}
        assert counts(report, "one") == expected

    async def test_a_fan_who_became_app_user_then_customer_counts_on_three_paths(
        self, session: AsyncSession
    ) -> None:
        await journey(session, [(FAN, T0), (APP, T0 + DAY), (CUSTOMER, T0 + 2 * DAY)])
        report = await funnel.funnel_report(session, start=START, end=END)
        got = counts(report, None)  # no channel touched this person
        assert {p for p, n in got.items() if n} == {
            "fan_to_app_user",
            "fan_to_customer",
            "app_user_to_customer",
        }

    async def test_conversions_outside_the_period_do_not_count(self, session: AsyncSession) -> None:
        channel = await make_channel(session, "period")
        await journey(session, [(FAN, T0 - 10 * DAY), (APP, T0 - DAY)], first=channel)  # before
        await journey(session, [(FAN, T0 + DAY), (APP, END)], first=channel)  # end is exclusive
        await journey(session, [(FAN, T0 - 10 * DAY), (APP, T0 + DAY)], first=channel)  # counts

        report = await funnel.funnel_report(session, start=START, end=END)

        assert counts(report, "period")["fan_to_app_user"] == 1

    async def test_only_the_first_occurrence_of_each_role_counts(
        self, session: AsyncSession
    ) -> None:
        # App user first (day 1), fan on day 2, a second app activation on day 3: app→fan only.
        await journey(session, [(APP, T0 + DAY), (FAN, T0 + 2 * DAY), (APP, T0 + 3 * DAY)])
        got = counts(await funnel.funnel_report(session, start=START, end=END), None)
        assert got["app_user_to_fan"] == 1
        assert got["fan_to_app_user"] == 0

    async def test_first_and_last_touch_attribute_to_different_channels(
        self, session: AsyncSession
    ) -> None:
        poster = await make_channel(session, "poster")
        staff = await make_channel(session, "expo")
        await journey(session, [(FAN, T0), (CUSTOMER, T0 + DAY)], first=poster, last=staff)

        first = await funnel.funnel_report(session, start=START, end=END)
        last = await funnel.funnel_report(
            session, start=START, end=END, attribution=Attribution.LAST_TOUCH
        )

        assert counts(first, "poster")["fan_to_customer"] == 1
        assert counts(last, "expo")["fan_to_customer"] == 1
        assert [r.channel for r in first.rows] == ["poster"]

    @pytest.mark.parametrize(
        ("start", "end"),
        [(END, START), (START, START + 400 * DAY), (START.replace(tzinfo=None), END)],
    )
    async def test_bad_periods_are_refused(
        self, session: AsyncSession, start: datetime, end: datetime
    ) -> None:
        with pytest.raises(InvalidPeriodError):
            await funnel.funnel_report(session, start=start, end=end)


class TestCsv:
    async def test_csv_has_a_line_per_channel_and_totals(self, session: AsyncSession) -> None:
        channel = await make_channel(session, "csv-channel")
        await build_every_path(session, channel)
        await journey(session, [(FAN, T0 + DAY), (APP, T0 + 2 * DAY)])

        text = funnel.funnel_csv(await funnel.funnel_report(session, start=START, end=END))

        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["channel", *FUNNEL_PATHS]
        assert rows[1] == ["csv-channel", "1", "1", "1", "1", "1", "1"]
        assert rows[2] == ["(none)", "1", "0", "0", "0", "0", "0"]
        assert rows[3] == ["TOTAL", "2", "1", "1", "1", "1", "1"]


@pytest.fixture
async def sqlite_session(tmp_path: Path) -> AsyncIterator[AsyncSession]:
    import app.all_models  # noqa: F401 - every table on the metadata

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'funnel.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        yield session
    await engine.dispose()


class TestOnSqlite:
    async def test_the_same_sql_runs_on_sqlite(self, sqlite_session: AsyncSession) -> None:
        channel = await make_channel(sqlite_session, "embedded")
        await build_every_path(sqlite_session, channel)
        await journey(sqlite_session, [(FAN, T0 - DAY), (APP, END + DAY)], first=channel)

        report = await funnel.funnel_report(sqlite_session, start=START, end=END)

        assert counts(report, "embedded") == dict.fromkeys(FUNNEL_PATHS, 1)
