"""Outbox relay: committed pending rows reach Redis as id batches and become queued."""

from __future__ import annotations

import asyncio
import math
import random

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.push import service, stream
from app.push.constants import Kind, PushConfig
from app.push.metrics import PUSH_HORIZON_WAIT
from app.push.models import Delivery
from app.push.relay import idle_wait_s, new_horizons, relay_once, watch_horizons
from app.push.repository import DeliveryRepository, queue_repository
from tests.push.conftest import add_alert, relay


async def statuses(ctx) -> list[str]:
    async with ctx.sessionmaker() as session:
        status = queue_repository(session, cs=False).effective_status()  # as the API shows it
        return list((await session.scalars(select(status).order_by(Delivery.id))).all())


class BrokenPipeline:
    """A Redis whose writes fail (server gone) — only what the relay touches."""

    def pipeline(self, transaction: bool = False):
        raise RedisConnectionError("connection refused")


class TestRelayOnce:
    async def test_pending_ids_go_to_their_lane_in_batches_and_become_queued(self, ctx):
        _, ids = await add_alert(ctx.sessionmaker, ["a", "b", "c", "d", "e"], severity="critical")
        assert await relay(ctx) == 5
        assert await statuses(ctx) == ["queued"] * 5

        entries = await stream.read_batch(ctx.redis, "t", max_entries=10, block_ms=None)
        assert [e.lane for e in entries] == ["critical", "critical"]
        assert [i for e in entries for i in e.ids] == ids  # 3 + 2 ids per entry, ids only
        assert await relay(ctx) == 0  # nothing relayed twice

    async def test_redis_failure_puts_rows_back_to_pending(self, ctx):
        await add_alert(ctx.sessionmaker, ["a", "b"])
        with pytest.raises(RedisConnectionError):
            await relay_once(ctx.sessionmaker, BrokenPipeline(), clock=ctx.clock, config=ctx.config)
        assert await statuses(ctx) == ["pending", "pending"]
        assert await relay(ctx) == 2

    async def test_large_backlogs_are_relayed_in_several_transactions(self, ctx):
        await add_alert(ctx.sessionmaker, [f"fan{i}" for i in range(250)])  # relay_batch = 100
        assert await relay(ctx) == 250
        assert set(await statuses(ctx)) == {"queued"}


async def relayed_ids(ctx) -> list[int]:
    entries = await stream.read_batch(ctx.redis, "t", max_entries=100, block_ms=None)
    return sorted(i for e in entries for i in e.ids)


class TestRelayCursor:
    async def test_a_producer_committing_late_below_the_cursor_is_never_skipped(self, ctx):
        # Producer A takes its ids first but commits last; B commits ids above A's meanwhile.
        async with ctx.sessionmaker() as slow:
            alert = await service.create_alert(
                slow, alert_type="trade_fill", severity="transactional", payload={}
            )
            await service.create_deliveries(
                slow, alert=alert, template_id="T", recipients=[("late", {"k": "v"})]
            )
            _, fast_ids = await add_alert(ctx.sessionmaker, ["early1", "early2"])
            assert await relay(ctx) == 0  # A is in flight: the cursor may not pass B's ids yet
            await slow.commit()
        assert await relay(ctx) == 3
        late_ids = sorted(set(await relayed_ids(ctx)) - set(fast_ids))
        assert len(late_ids) == 1
        assert late_ids[0] < min(fast_ids)
        assert await statuses(ctx) == ["queued"] * 3
        assert await relay(ctx) == 0

    async def test_relaying_marks_no_row(self, ctx):
        """The hot path writes the cursor only; the claim sets `queued_at` lazily."""
        await add_alert(ctx.sessionmaker, ["a", "b", "c"])
        assert await relay(ctx) == 3
        async with ctx.sessionmaker() as session:
            stored = (await session.execute(select(Delivery.status, Delivery.queued_at))).all()
        assert stored == [("pending", None)] * 3


class TestIdleWait:
    def test_polls_fast_while_producers_are_active_and_slowly_when_idle(self):
        config = PushConfig(relay_interval_s=0.2, relay_busy_interval_s=0.03, relay_busy_window_s=2)
        assert idle_wait_s(config, since_moved_s=0.5) == 0.03
        assert idle_wait_s(config, since_moved_s=2.5) == 0.2
        assert idle_wait_s(config, since_moved_s=math.inf) == 0.2  # never moved anything

    def test_polls_fastest_while_a_horizon_candidate_waits_for_producers(self):
        config = PushConfig(
            relay_interval_s=0.2, relay_busy_interval_s=0.05, relay_proving_interval_s=0.02
        )
        assert idle_wait_s(config, since_moved_s=math.inf, proving=True) == 0.02
        assert idle_wait_s(config, since_moved_s=0.5, proving=True) == 0.02


async def open_producer(ctx, openid: str) -> tuple[AsyncSession, int]:
    """A producer transaction that inserted one delivery and has not ended: (session, its id).
    The caller commits or rolls it back (and closes the session)."""
    session = ctx.sessionmaker()
    alert = await service.create_alert(
        session, alert_type="trade_fill", severity="transactional", payload={}
    )
    await service.create_deliveries(
        session, alert=alert, template_id="T", recipients=[(openid, {"k": "v"})]
    )
    ids = await DeliveryRepository(session).list_ids_for_alert(alert.id)
    return session, ids[0]


class TestIdHorizonWithProducersInFlight:
    """Two or more real PostgreSQL connections: the relay's horizon never passes an id whose
    transaction is still open, and passes it on the first tick after that transaction ended."""

    async def relay(self, ctx, horizons) -> int:
        return await relay_once(
            ctx.sessionmaker, ctx.redis, clock=ctx.clock, config=ctx.config, horizons=horizons
        )

    @pytest.mark.parametrize("ending", ["commit", "rollback"])
    async def test_an_open_producer_holds_the_horizon_below_its_ids_until_it_ends(
        self, ctx, ending
    ):
        horizons = new_horizons()
        _, before = await add_alert(ctx.sessionmaker, ["before"])
        assert await self.relay(ctx, horizons) == 1
        slow, slow_id = await open_producer(ctx, "slow")
        async with slow:
            _, fast_ids = await add_alert(ctx.sessionmaker, ["fast1", "fast2"])
            assert slow_id < min(fast_ids)
            assert await self.relay(ctx, horizons) == 0  # every id above `before` waits
            assert horizons[Kind.DELIVERY].proven == before[0]
            await (slow.commit() if ending == "commit" else slow.rollback())
        relayed = 3 if ending == "commit" else 2
        assert await self.relay(ctx, horizons) == relayed
        assert await relayed_ids(ctx) == sorted(
            before + fast_ids + ([slow_id] if ending == "commit" else [])
        )
        assert await self.relay(ctx, horizons) == 0

    async def test_a_sample_is_proven_once_its_holders_ended_even_with_new_producers_in_flight(
        self, ctx
    ):
        horizons = new_horizons()
        first, _ = await open_producer(ctx, "first")
        async with first:
            await add_alert(ctx.sessionmaker, ["fast"])
            assert await self.relay(ctx, horizons) == 0  # sample: (fast's id, {first})
            await first.commit()
        later, later_id = await open_producer(ctx, "later")
        async with later:  # in flight at the next tick, but it started after the sample
            assert await self.relay(ctx, horizons) == 2  # first's row and fast's, not later's
            assert later_id not in await relayed_ids(ctx)
            assert await self.relay(ctx, horizons) == 0
            await later.commit()
        assert await self.relay(ctx, horizons) == 1

    async def test_several_producers_in_flight_all_have_to_end(self, ctx):
        horizons = new_horizons()
        a, a_id = await open_producer(ctx, "a")
        b, _ = await open_producer(ctx, "b")
        async with a, b:
            _, fast_ids = await add_alert(ctx.sessionmaker, ["fast"])
            assert await self.relay(ctx, horizons) == 0
            await a.commit()
            assert await self.relay(ctx, horizons) == 0  # b still holds ids below fast's
            await b.rollback()
            assert await self.relay(ctx, horizons) == 2
        assert await relayed_ids(ctx) == sorted([a_id, *fast_ids])

    async def test_a_slow_fan_out_committing_after_a_faster_one_is_relayed(self, ctx):
        horizons = new_horizons()
        slow, slow_id = await open_producer(ctx, "slow")
        async with slow:
            for i in range(3):  # fast producers come and go, each above the slow one's id
                await add_alert(ctx.sessionmaker, [f"fast{i}"])
                await self.relay(ctx, horizons)
            assert await relayed_ids(ctx) == []
            await slow.commit()
        assert await self.relay(ctx, horizons) == 4
        assert slow_id in await relayed_ids(ctx)


class TestHorizonUnderConcurrentProducers:
    async def test_every_committed_row_is_relayed_once_and_no_rolled_back_one(self, ctx):
        """Producers overlap at random (slow and fast, committing or rolling back) while the
        relay ticks: a cursor passing an id before its transaction ended would lose it."""
        rng = random.Random(11)
        committed: list[int] = []
        horizons = new_horizons()
        producing = True

        async def producer(n: int) -> None:
            for i in range(6):
                session, first = await open_producer(ctx, f"p{n}-{i}")
                async with session:
                    await asyncio.sleep(rng.choice([0, 0.001, 0.005, 0.03]))
                    if rng.random() < 0.2:
                        await session.rollback()
                    else:
                        await session.commit()
                        committed.append(first)

        async def relay_loop() -> None:
            while producing:
                await relay_once(
                    ctx.sessionmaker, ctx.redis, clock=ctx.clock, config=ctx.config,
                    horizons=horizons,
                )  # fmt: skip
                await asyncio.sleep(0.002)

        relaying = asyncio.create_task(relay_loop())
        await asyncio.gather(*(producer(n) for n in range(6)))
        producing = False
        await relaying
        await relay_once(
            ctx.sessionmaker, ctx.redis, clock=ctx.clock, config=ctx.config, horizons=horizons
        )
        entries = await stream.read_batch(ctx.redis, "t", max_entries=1000, block_ms=None)
        relayed = [i for e in entries for i in e.ids]
        assert sorted(relayed) == sorted(committed)  # each once, none lost, no rolled back id
        assert len(committed) > 20


class TestHorizonWatch:
    def test_a_stalled_horizon_is_exported_and_logged_at_most_once_per_interval(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        config = PushConfig(horizon_stall_warn_s=30.0)
        horizons = new_horizons()
        horizons[Kind.DELIVERY].observe(10, {"7/42"}, at=0.0)  # a producer left open
        warned: dict[Kind, float] = {}
        with caplog.at_level("WARNING", logger="app.push.relay"):
            watch_horizons(horizons, config, now=10.0, warned_at=warned)  # not yet a stall
            watch_horizons(horizons, config, now=31.0, warned_at=warned)
            watch_horizons(horizons, config, now=45.0, warned_at=warned)  # warned 14 s ago
            watch_horizons(horizons, config, now=62.0, warned_at=warned)
        stalls = [r for r in caplog.records if r.getMessage() == "push.relay.horizon_stalled"]
        assert [(r.kind, r.waiting_s, r.transactions) for r in stalls] == [  # type: ignore[attr-defined]
            ("delivery", 31.0, ["7/42"]),
            ("delivery", 62.0, ["7/42"]),
        ]
        gauge = PUSH_HORIZON_WAIT.labels(Kind.DELIVERY.value)
        assert gauge._value.get() == 62.0
        assert PUSH_HORIZON_WAIT.labels(Kind.CS.value)._value.get() == 0.0
