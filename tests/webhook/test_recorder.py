"""EventRecorder: batched inserts off the request path, listeners, overflow, outages."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import create_engine, create_sessionmaker
from app.webhook.constants import RECORDER_MAX_BATCH_FAILURES
from app.webhook.models import InboundEvent
from app.webhook.recorder import EventRecorder
from app.webhook.schemas import InboundRecord

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def rec(i: int, *, event: str | None = "click") -> InboundRecord:
    return InboundRecord(
        openid=f"o_{i % 3}",
        msg_type="event" if event else "text",
        event=event,
        event_key=f"K{i}",
        scene=None,
        msg_id=None,
        wechat_created_at=T0 + timedelta(seconds=i),
        received_at=T0 + timedelta(seconds=i, milliseconds=5),
    )


async def rows(engine: AsyncEngine) -> list[InboundEvent]:
    async with AsyncSession(engine) as session:
        return list(await session.scalars(select(InboundEvent).order_by(InboundEvent.id)))


@pytest.fixture
def recorder(engine: AsyncEngine, truncate_tables: None) -> EventRecorder:
    return EventRecorder(create_sessionmaker(engine), batch_size=4, flush_interval_s=0.01)


class TestFlush:
    async def test_records_are_written_in_batches_with_the_listener_in_the_same_transaction(
        self, recorder: EventRecorder, engine: AsyncEngine
    ) -> None:
        batches: list[int] = []

        async def listener(session: AsyncSession, batch: Sequence[InboundRecord]) -> None:
            batches.append(len(batch))

        recorder.add_listener(listener)
        for i in range(10):
            recorder.record(rec(i))
        assert await rows(engine) == []  # nothing touches the database on record()

        assert await recorder.flush() == 10

        assert batches == [4, 4, 2]
        stored = await rows(engine)
        assert [r.event_key for r in stored] == [f"K{i}" for i in range(10)]
        assert stored[0].wechat_created_at == T0
        assert recorder.pending == 0

    async def test_a_failing_listener_rolls_the_batch_back_and_keeps_it(
        self, recorder: EventRecorder, engine: AsyncEngine
    ) -> None:
        fail = True

        async def flaky(session: AsyncSession, batch: Sequence[InboundRecord]) -> None:
            if fail:
                await session.execute(select(1).where(InboundEvent.id == "nan"))  # DataError

        recorder.add_listener(flaky)
        recorder.record(rec(1))
        assert await recorder.flush() == 0
        assert await rows(engine) == []
        assert recorder.pending == 1

        fail = False
        assert await recorder.flush() == 1
        assert len(await rows(engine)) == 1

    async def test_the_loop_flushes_until_stopped(
        self, recorder: EventRecorder, engine: AsyncEngine
    ) -> None:
        stop = asyncio.Event()
        recorder.record(rec(1))
        stop.set()  # the loop still does its final flush

        await recorder.run(stop)

        assert len(await rows(engine)) == 1


class TestBounds:
    def test_overflow_drops_the_oldest(self, engine: AsyncEngine) -> None:
        recorder = EventRecorder(
            create_sessionmaker(engine), batch_size=10, flush_interval_s=1, max_buffer=3
        )
        for i in range(5):
            recorder.record(rec(i))

        assert recorder.pending == 3
        assert recorder.dropped == 2

    async def test_database_outage_keeps_records_then_drops_a_poison_batch(self) -> None:
        dead = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
        recorder = EventRecorder(create_sessionmaker(dead), batch_size=10, flush_interval_s=1)
        try:
            recorder.record(rec(1))
            for _ in range(RECORDER_MAX_BATCH_FAILURES - 1):
                assert await recorder.flush() == 0
                assert recorder.pending == 1
            await recorder.flush()
            assert recorder.pending == 0
            assert recorder.dropped == 1
        finally:
            await dead.dispose()
