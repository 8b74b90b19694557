"""Worker: claim → send → record → ack, retries, failures, pause, expiry, recovery, races."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from app.core import db as core_db
from app.core.db import create_engine, create_sessionmaker
from app.core.time import BEIJING, next_beijing_midnight
from app.push import service, stream
from app.push.constants import DEAD_LETTER_KEY, GROUP, PAUSE_KEYS, STREAMS, Kind
from app.push.models import CsMessage, Delivery, DeliveryEvent
from app.push.worker import WorkerContext, claim, run_once, run_worker, send_all, settle_batches
from app.wechat.errors import WeChatTransportError
from tests.conftest import PG_ADMIN_URL, TEST_DB_NAME, pg_url
from tests.push.conftest import FakeWeChat, add_alert, api_error, make_ctx, relay


async def rows(ctx: WorkerContext) -> dict[int, Delivery]:
    async with ctx.sessionmaker() as session:
        found = (await session.scalars(select(Delivery).order_by(Delivery.id))).all()
    return {d.id: d for d in found}


async def drain(ctx: WorkerContext, *, max_rounds: int = 20) -> None:
    for _ in range(max_rounds):
        await relay(ctx)
        if not await run_once(ctx):
            return


async def unacked(ctx: WorkerContext, lane: str) -> int:
    info = await ctx.redis.xpending(STREAMS[lane], GROUP)
    return int(info["pending"])


class TestRunOnce:
    async def test_claims_sends_records_and_acks(self, ctx, fake_wechat):
        _, ids = await add_alert(ctx.sessionmaker, ["o1", "o2", "o3", "o4"])
        assert await relay(ctx) == 4
        assert await run_once(ctx) == 2  # 4 ids, 3 per entry

        by_id = await rows(ctx)
        assert {d.status for d in by_id.values()} == {"sent"}
        assert sorted(m["client_msg_id"] for m in fake_wechat.sent) == sorted(map(str, ids))
        assert all(by_id[int(m["client_msg_id"])].msgid == m["msgid"] for m in fake_wechat.sent)
        assert all(d.sent_at == ctx.clock.now() and d.attempts == 1 for d in by_id.values())
        assert await unacked(ctx, "transactional") == 0
        assert await ctx.redis.xlen(STREAMS["transactional"]) == 0

    async def test_empty_streams_return_zero(self, ctx):
        assert await run_once(ctx) == 0

    async def test_entry_for_a_finished_delivery_is_acked_without_sending(self, ctx, fake_wechat):
        _, ids = await add_alert(ctx.sessionmaker, ["o1"])
        await drain(ctx)
        await stream.publish(ctx.redis, "transactional", ids, per_entry=10)  # a stale duplicate

        assert await run_once(ctx) == 1
        assert len(fake_wechat.sent) == 1
        assert await unacked(ctx, "transactional") == 0

    async def test_higher_lanes_are_sent_first(self, ctx, fake_wechat, push_config):
        await add_alert(ctx.sessionmaker, ["m1"], severity="marketing")
        await add_alert(ctx.sessionmaker, ["k1"], severity="market")
        await add_alert(ctx.sessionmaker, ["t1"], severity="transactional")
        await add_alert(ctx.sessionmaker, ["c1"], severity="critical")
        await service.enqueue_customer_service_reply(
            ctx.sessionmaker, ctx.redis, openid="s1", message={"msgtype": "text"}, reason="t"
        )
        await relay(ctx)
        ctx.config = push_config.__class__(**{**_fields(push_config), "worker_entries": 1})

        order = []
        for _ in range(5):
            await run_once(ctx)
            order += [m["openid"] for m in fake_wechat.sent if m["openid"] not in order]
            order += [m["openid"] for m in fake_wechat.custom if m["openid"] not in order]
        assert order == ["c1", "s1", "t1", "k1", "m1"]


def _fields(config):
    return {name: getattr(config, name) for name in config.__dataclass_fields__}


class TestOutcomes:
    async def test_retryable_error_requeues_with_backoff(self, ctx, fake_wechat):
        fake_wechat.fail("o1", api_error(-1))
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["o1"])
        await relay(ctx)
        await run_once(ctx)

        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.attempts, row.errcode) == ("pending", 1, -1)
        delay = (row.next_attempt_at - ctx.clock.now()).total_seconds()
        assert 0.5 <= delay <= 1.5  # 1 s base, jittered
        assert await relay(ctx) == 0  # not due yet

        ctx.clock.advance(2)
        await drain(ctx)
        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.attempts) == ("sent", 2)
        assert len(fake_wechat.sent) == 1

    async def test_batch_outcomes_reach_the_metrics(self, ctx, fake_wechat):
        def sample(name: str, **labels: str) -> float:
            return REGISTRY.get_sample_value(name, labels) or 0.0

        before = {
            "sent": sample("wxbroker_push_sends_total", kind="delivery", outcome="sent"),
            "retry": sample("wxbroker_push_sends_total", kind="delivery", outcome="retry"),
            "-1": sample("wxbroker_push_errors_total", kind="delivery", errcode="-1"),
            "lag": sample("wxbroker_push_lag_seconds_count", kind="delivery"),
        }
        fake_wechat.fail("o2", api_error(-1))
        await add_alert(ctx.sessionmaker, ["o1", "o2", "o3"])
        await relay(ctx)
        await run_once(ctx)

        assert sample("wxbroker_push_sends_total", kind="delivery", outcome="sent") == (
            before["sent"] + 2
        )
        assert sample("wxbroker_push_sends_total", kind="delivery", outcome="retry") == (
            before["retry"] + 1
        )
        assert sample("wxbroker_push_errors_total", kind="delivery", errcode="-1") == (
            before["-1"] + 1
        )
        assert sample("wxbroker_push_lag_seconds_count", kind="delivery") == before["lag"] + 2

    async def test_timeout_counts_as_retryable(self, ctx, fake_wechat):
        fake_wechat.fail("o1", WeChatTransportError("/x", "read timeout"))
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["o1"])
        await drain(ctx)
        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.errcode) == ("pending", None)
        assert "timeout" in row.error

    async def test_a_send_that_hangs_is_cut_at_send_timeout_and_retried(
        self, sessionmaker, push_redis, clock, push_config
    ):
        hangs = HangingWeChat(openids={"stuck", "stuck2"})
        config = replace(push_config, send_timeout_s=0.2, ids_per_entry=10)
        ctx = make_ctx(sessionmaker, push_redis, hangs, clock, config)
        _, ids = await add_alert(sessionmaker, ["ok1", "stuck", "ok2", "stuck2", "ok3"])
        await relay(ctx)

        assert await asyncio.wait_for(run_once(ctx), 10) == 1
        by_id = await rows(ctx)
        status = {by_id[i].openid: (by_id[i].status, by_id[i].error) for i in ids}
        assert status["ok1"] == status["ok2"] == status["ok3"] == ("sent", None)
        assert status["stuck"][0] == status["stuck2"][0] == "pending"  # retried later
        assert "send timed out" in (status["stuck"][1] or "")
        assert hangs.cancelled == 2  # the hung calls were cancelled, not left running
        assert ctx.slots()._value == config.concurrency  # every slot came back
        assert await unacked(ctx, "transactional") == 0

    async def test_permanent_error_fails_at_once(self, ctx, fake_wechat):
        fake_wechat.fail("gone", api_error(43004))
        _, ids = await add_alert(ctx.sessionmaker, ["gone", "ok"])
        await drain(ctx)

        by_id = await rows(ctx)
        assert (by_id[ids[0]].status, by_id[ids[0]].errcode) == ("failed", 43004)
        assert by_id[ids[0]].failed_at == ctx.clock.now()
        assert by_id[ids[1]].status == "sent"
        assert await ctx.redis.llen(DEAD_LETTER_KEY) == 0  # the fan's doing: nothing to re-drive

    async def test_exhausted_retries_fail_and_dead_letter_then_redrive(self, ctx, fake_wechat):
        fake_wechat.fail("o1", *[api_error(-1)] * 5)
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["o1"])
        for _ in range(5):
            await drain(ctx)
            ctx.clock.advance(60)
        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.attempts, row.errcode) == ("failed", 5, -1)
        assert await ctx.redis.lrange(DEAD_LETTER_KEY, 0, -1) == [
            f"delivery:{delivery_id}".encode()
        ]

        assert await service.redrive_dead_letters(ctx.sessionmaker, ctx.redis, clock=ctx.clock) == 1
        assert await ctx.redis.llen(DEAD_LETTER_KEY) == 0
        await drain(ctx)
        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.attempts) == ("sent", 1)

    async def test_quota_error_pauses_all_sending_until_beijing_midnight(self, ctx, fake_wechat):
        fake_wechat.fail("o1", api_error(45009))
        _, ids = await add_alert(ctx.sessionmaker, ["o1"])
        await drain(ctx)
        reset = next_beijing_midnight(ctx.clock.now())
        assert reset.astimezone(BEIJING).hour == 0

        row = (await rows(ctx))[ids[0]]
        assert (row.status, row.errcode, row.next_attempt_at) == ("pending", 45009, reset)
        assert row.attempts == 0
        assert await ctx.redis.exists(PAUSE_KEYS[Kind.DELIVERY])

        # Another alert while paused: read from the stream, deferred, never sent.
        _, more = await add_alert(ctx.sessionmaker, ["o2"])
        await drain(ctx)
        assert fake_wechat.sent == []
        assert (await rows(ctx))[more[0]].next_attempt_at == reset

        ctx.clock.current = reset + timedelta(seconds=1)
        await ctx.redis.delete(PAUSE_KEYS[Kind.DELIVERY])  # Redis expired it at the reset
        await drain(ctx)
        assert sorted(m["openid"] for m in fake_wechat.sent) == ["o1", "o2"]

    async def test_stale_market_alert_expires_instead_of_sending(self, ctx, fake_wechat):
        soon = ctx.clock.now() + timedelta(minutes=5)
        _, [delivery_id] = await add_alert(
            ctx.sessionmaker, ["o1"], severity="market", expires_at=soon
        )
        await relay(ctx)
        ctx.clock.advance(600)
        await run_once(ctx)

        row = (await rows(ctx))[delivery_id]
        assert (row.status, row.expired_at) == ("expired", ctx.clock.now())
        assert fake_wechat.sent == []

    async def test_customer_service_reply_is_sent_by_the_same_worker(self, ctx, fake_wechat):
        message = {"msgtype": "text", "text": {"content": "您的持仓查询结果"}}
        cs_id = await service.enqueue_customer_service_reply(
            ctx.sessionmaker, ctx.redis, openid="o1", message=message, reason="overrun",
            clock=ctx.clock,
        )  # fmt: skip
        assert await run_once(ctx) == 1
        assert fake_wechat.custom == [{"openid": "o1", "message": message}]
        async with ctx.sessionmaker() as session:
            row = await session.get(CsMessage, cs_id)
        assert (row.status, row.attempts, row.sent_at) == ("sent", 1, ctx.clock.now())

    async def test_history_records_each_outcome(self, ctx, fake_wechat):
        fake_wechat.fail("o1", api_error(-1))
        _, [delivery_id] = await add_alert(ctx.sessionmaker, ["o1"])
        await drain(ctx)
        ctx.clock.advance(5)
        await drain(ctx)
        async with ctx.sessionmaker() as session:
            events = (
                await session.scalars(
                    select(DeliveryEvent).where(DeliveryEvent.delivery_id == delivery_id)
                    .order_by(DeliveryEvent.id)
                )
            ).all()  # fmt: skip
        assert [(e.from_status, e.to_status, e.errcode) for e in events] == [
            ("sending", "pending", -1),
            ("sending", "sent", None),
        ]


class TestRecovery:
    async def test_autoclaim_takes_over_a_dead_consumers_entries(
        self, sessionmaker, push_redis, fake_wechat, clock, push_config
    ):
        dead = make_ctx(sessionmaker, push_redis, fake_wechat, clock, push_config, consumer="dead")
        await add_alert(sessionmaker, ["o1", "o2"])
        await relay(dead)
        # The dead consumer read the entry and vanished (kill -9) before claiming anything.
        entries = await stream.read_batch(push_redis, "dead", max_entries=10, block_ms=None)
        assert len(entries) == 1

        config = push_config.__class__(**{**_fields(push_config), "autoclaim_idle_ms": 0})
        alive = make_ctx(sessionmaker, push_redis, fake_wechat, clock, config, consumer="alive")
        assert await run_once(alive) == 1
        assert sorted(m["openid"] for m in fake_wechat.sent) == ["o1", "o2"]
        assert await unacked(alive, "transactional") == 0

    async def test_claimed_rows_of_a_dead_consumer_are_resent_after_the_lease(
        self, sessionmaker, push_redis, fake_wechat, clock, push_config
    ):
        _, [delivery_id] = await add_alert(sessionmaker, ["o1"])
        # The first worker got as far as sending, then died before recording the outcome.
        first = make_ctx(sessionmaker, push_redis, fake_wechat, clock, push_config, consumer="a")
        await relay(first)
        entries = await stream.read_batch(push_redis, "a", max_entries=10, block_ms=None)
        claimed = await claim(first, Kind.DELIVERY, list(entries[0].ids), now=clock.now())
        await send_all(first, Kind.DELIVERY, claimed)

        config = push_config.__class__(**{**_fields(push_config), "autoclaim_idle_ms": 0})
        second = make_ctx(sessionmaker, push_redis, fake_wechat, clock, config, consumer="b")
        await run_once(second)  # lease still valid: hands off
        assert (await rows(second))[delivery_id].status == "sending"

        clock.advance(push_config.send_lease_s + 1)
        await stream.publish(push_redis, "transactional", [delivery_id], per_entry=1)
        await run_once(second)
        row = (await rows(second))[delivery_id]
        assert row.status == "sent"
        assert fake_wechat.calls == 2  # sent twice, but with the same client_msg_id…
        assert fake_wechat.seen_per_fan() == {"o1": 1}  # …so the fan saw it once

    async def test_two_workers_racing_never_send_twice(
        self, sessionmaker, push_redis, fake_wechat, clock, push_config
    ):
        openids = [f"fan{i}" for i in range(60)]
        _, ids = await add_alert(sessionmaker, openids)
        a = make_ctx(sessionmaker, push_redis, fake_wechat, clock, push_config, consumer="a")
        b = make_ctx(sessionmaker, push_redis, fake_wechat, clock, push_config, consumer="b")
        await relay(a)
        # Every id twice in the stream (a relay retry, a reconciler re-queue): workers race.
        await stream.publish(push_redis, "transactional", ids, per_entry=3)

        for _ in range(10):
            await asyncio.gather(run_once(a), run_once(b))
        assert fake_wechat.calls == 60
        assert set(fake_wechat.seen_per_fan().values()) == {1}
        assert {d.status for d in (await rows(a)).values()} == {"sent"}

    async def test_a_database_restart_costs_no_batch(
        self, engine, truncate_tables, push_redis, fake_wechat, clock, push_config, monkeypatch
    ):
        """The server closed the worker's pooled connection (a restart) before the driver saw
        it: the claim fails on it, runs again on a fresh connection, and the batch is sent and
        recorded as if nothing happened (no pre-ping round trips guard the checkout)."""
        small = create_engine(pg_url(TEST_DB_NAME), pool_size=1)
        try:
            sessions = create_sessionmaker(small)
            ctx = make_ctx(sessions, push_redis, fake_wechat, clock, push_config)
            _, ids = await add_alert(sessions, ["o1", "o2"])
            await relay(ctx)
            async with small.connect() as conn:  # the one pooled connection
                pid = await conn.scalar(select(func.pg_backend_pid()))
            admin = await asyncpg.connect(PG_ADMIN_URL)
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            await admin.close()
            await asyncio.sleep(0.2)
            monkeypatch.setattr(core_db, "is_closed", lambda _conn: False)  # not seen yet

            assert await run_once(ctx) == 1
            by_id = await rows(ctx)
            assert {by_id[i].status for i in ids} == {"sent"}
            assert fake_wechat.seen_per_fan() == {"o1": 1, "o2": 1}
            assert await unacked(ctx, "transactional") == 0
        finally:
            await small.dispose()


class TestConfigFromSettings:
    def test_the_in_process_stand_in_is_polled_without_block(self) -> None:
        from app.push.constants import PushConfig
        from app.push.worker import config_from_settings
        from tests.conftest import make_settings

        assert config_from_settings(make_settings(redis_url="memory://")).block_ms is None
        real = config_from_settings(make_settings())
        assert real.block_ms == PushConfig().block_ms
        assert real.block_ms


@dataclass
class HangingWeChat(FakeWeChat):
    """Sends to `openids` never answer (until cancelled); the others go through."""

    openids: set[str] = field(default_factory=set)
    cancelled: int = 0

    async def send_template(self, **kwargs: Any) -> int:
        if kwargs["openid"] in self.openids:
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled += 1
                raise
        return await super().send_template(**kwargs)


@dataclass
class HeldWeChat(FakeWeChat):
    """Sends wait for a ticket from the test; counts how many are inside at once."""

    tickets: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(0))
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    inside: int = 0
    most: int = 0

    async def send_template(self, **kwargs: Any) -> int:
        await self._moved(+1)
        try:
            await self.tickets.acquire()
            return await super().send_template(**kwargs)
        finally:
            await self._moved(-1)

    async def _moved(self, step: int) -> None:
        async with self.changed:
            self.inside += step
            self.most = max(self.most, self.inside)
            self.changed.notify_all()

    async def until(self, predicate: Any) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), 30)  # a safety net


class TestPipeline:
    async def test_next_batch_is_claimed_while_the_first_sends_and_slots_are_shared(
        self, sessionmaker, push_redis, clock, push_config
    ):
        held = HeldWeChat()
        config = replace(
            push_config, ids_per_entry=3, worker_entries=1, concurrency=4, batches_in_flight=2
        )
        ctx = make_ctx(sessionmaker, push_redis, held, clock, config)
        _, ids = await add_alert(sessionmaker, [f"fan{i}" for i in range(12)])
        await relay(ctx)
        stop = asyncio.Event()
        worker = asyncio.create_task(run_worker(ctx, stop))

        # Three sends of the first batch and one of the second are out at the same time…
        await held.until(lambda: held.inside == 4)
        assert [d.status for d in (await rows(ctx)).values()].count("sending") == 6
        held.tickets.release()  # …and the second batch's others wait for a free slot
        await held.until(lambda: held.calls == 1 and held.inside == 4)
        for _ in range(11):
            held.tickets.release()
        await held.until(lambda: held.calls == 12 and held.inside == 0)
        stop.set()
        await asyncio.wait_for(worker, 30)

        assert held.most == 4  # `concurrency` bounds the worker, not each batch
        assert {d.status for d in (await rows(ctx)).values()} == {"sent"}
        assert sorted(int(m["client_msg_id"]) for m in held.sent) == sorted(ids)
        assert await unacked(ctx, "transactional") == 0

    async def test_a_failed_batch_surfaces_once_the_others_in_hand_finish(self):
        release = asyncio.Event()
        finished: list[str] = []

        async def fails() -> None:
            raise RuntimeError("database went away")

        async def slow() -> None:
            await release.wait()
            finished.append("slow")

        in_flight = {asyncio.create_task(fails()), asyncio.create_task(slow())}
        settling = asyncio.create_task(settle_batches(in_flight, asyncio.FIRST_COMPLETED))
        for _ in range(5):  # loop turns, not time: the failure is in, the slow one is not
            await asyncio.sleep(0)
        assert not settling.done()
        release.set()
        with pytest.raises(RuntimeError, match="database went away"):
            await settling
        assert finished == ["slow"]
        assert in_flight == set()
