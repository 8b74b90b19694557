"""The worker with the real WeChatClient against the real WeChat simulator (in-process ASGI).

Everything shares the test's FakeClock: retries and the quota reset happen by advancing it.
Faults are injected through the simulator's admin API, as an operator would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.db import create_sessionmaker
from app.core.redis import Redis
from app.core.resources import Resources
from app.core.time import FakeClock, next_beijing_midnight
from app.main import create_app
from app.push.constants import DEAD_LETTER_KEY, GROUP, PAUSE_KEYS, STREAMS, Kind, PushConfig
from app.push.models import Delivery, DeliveryEvent
from app.push.repository import queue_repository
from app.push.worker import WorkerContext, run_once, run_worker
from app.simulator.state import WeChatSimulator
from app.simulator.wechat_api import create_wechat_simulator
from app.wechat.client import WeChatClient, WeChatClientConfig
from app.wechat.transport import HttpxTransport
from tests.conftest import TEST_APP_ID, TEST_APP_SECRET, make_settings, make_sim_config
from tests.push.conftest import add_alert, make_ctx, relay

TEMPLATE = "SimPriceAlert_c2Rz8WcJ0tLg3MnP5qS7uX9zB1dF4"
SEND = "/cgi-bin/message/template/send"
SIM_BASE = "http://wechat-sim"


def fans(n: int, prefix: str = "oSimFan") -> list[str]:
    return [f"{prefix}{i:06d}" for i in range(n)]


async def add_price_alert(sessionmaker: async_sessionmaker[AsyncSession], openids: list[str]):
    """Pending deliveries whose data the simulator's seeded price-alert template accepts."""
    _, ids = await add_alert(sessionmaker, openids, template_id=TEMPLATE, severity="market")
    data = {"thing1": "招商银行", "amount2": "¥35.20", "thing3": "高于35元", "time4": "14:02"}
    async with sessionmaker() as session, session.begin():
        for row in (await session.scalars(select(Delivery).where(Delivery.id.in_(ids)))).all():
            row.data = data
    return ids


def sim_client(sim_app: FastAPI, redis: Redis, clock: FakeClock) -> WeChatClient:
    """The product client; its HTTP goes to the simulator app in-process (same event loop)."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim_app), base_url=SIM_BASE)
    config = WeChatClientConfig(app_id=TEST_APP_ID, app_secret=TEST_APP_SECRET, base_url=SIM_BASE)
    return WeChatClient(
        config,
        redis=redis,
        transport=HttpxTransport(http, timeout_s=config.timeout_s, owned=True),
        clock=clock,
    )


class Sim:
    """The simulator app, its state, and an admin client on it."""

    def __init__(self, app: FastAPI, admin: httpx.AsyncClient) -> None:
        self.app = app
        self.admin = admin

    @property
    def state(self) -> WeChatSimulator:
        sim: WeChatSimulator = self.app.state.simulator
        return sim

    async def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.admin.post(path, json=body or {})
        response.raise_for_status()
        return dict(response.json())

    async def subscribe(self, openids: list[str]) -> None:
        for openid in openids:
            await self.post("/_admin/fans", {"openid": openid, "subscribed": True})

    async def stats(self) -> dict[str, Any]:
        return dict((await self.admin.get("/stats")).json())

    def inbox(self, openid: str) -> list[dict[str, Any]]:
        return self.state.inbox.list(openid)


def make_sim(
    clock: FakeClock, callback_http: httpx.AsyncClient | None = None, **config: Any
) -> Sim:
    app = create_wechat_simulator(
        make_sim_config(clock, **config), callback_http=callback_http, close_callback_http=True
    )
    admin = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_BASE)
    return Sim(app, admin)


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[Sim]:
    s = make_sim(clock)
    yield s
    await s.admin.aclose()
    await s.state.aclose()


@pytest.fixture
def config() -> PushConfig:
    return PushConfig(
        block_ms=None, ids_per_entry=10, worker_entries=5, autoclaim_interval_s=0.0,
        relay_batch=1000, concurrency=50,
    )  # fmt: skip


@pytest.fixture
async def wctx(
    sessionmaker: async_sessionmaker[AsyncSession],
    push_redis: Redis,
    sim: Sim,
    clock: FakeClock,
    config: PushConfig,
) -> AsyncIterator[WorkerContext]:
    client = sim_client(sim.app, push_redis, clock)
    yield make_ctx(sessionmaker, push_redis, client, clock, config)  # type: ignore[arg-type]
    await client.aclose()


async def drain(ctx: WorkerContext, *, rounds: int = 50) -> None:
    """Relay and work until the streams are empty (due rows only: the clock does not move)."""
    for _ in range(rounds):
        await relay(ctx)
        if not await run_once(ctx):
            return
    raise AssertionError("the queue did not drain")


async def drain_with_retries(ctx: WorkerContext, *, step_s: float = 60.0, steps: int = 8) -> None:
    """Drain, then let the clock pass every backoff, until no row waits for a retry."""
    for _ in range(steps):
        await drain(ctx)
        if not await statuses(ctx, "pending", "queued", "sending"):
            return
        ctx.clock.advance(step_s)  # type: ignore[attr-defined]
    raise AssertionError("retries did not settle")


async def rows(ctx: WorkerContext) -> list[Delivery]:
    async with ctx.sessionmaker() as session:
        return list((await session.scalars(select(Delivery).order_by(Delivery.id))).all())


async def statuses(ctx: WorkerContext, *wanted: str) -> list[Delivery]:
    return [d for d in await rows(ctx) if d.status in wanted]


async def shown_statuses(ctx: WorkerContext) -> dict[int, str]:
    """Statuses as the API shows them (a relayed fresh row is `queued` without an UPDATE)."""
    async with ctx.sessionmaker() as session:
        status = queue_repository(session, cs=False).effective_status()
        found = await session.execute(select(Delivery.id, status))
        return {int(i): str(st) for i, st in found.all()}


def assert_each_fan_saw_once(sim: Sim, deliveries: list[Delivery]) -> None:
    """Every sent delivery is in its fan's inbox exactly once, under the msgid we recorded."""
    for d in deliveries:
        shown = [m for m in sim.inbox(d.openid) if m["payload"]["client_msg_id"] == str(d.id)]
        if d.status == "sent" or d.status == "delivered":
            assert [m["msgid"] for m in shown] == [d.msgid], d.openid
        else:
            assert shown == [], d.openid


class TestTokenTrouble:
    async def test_revocation_and_a_40001_burst_still_deliver_everything(self, wctx, sim):
        openids = fans(60)
        await sim.subscribe(openids)
        await add_price_alert(wctx.sessionmaker, openids[:10])
        await drain(wctx)  # warm: one token in Redis, shared by every send

        await sim.post("/_admin/tokens/revoke")  # every token WeChat knew is gone
        await sim.post("/_admin/faults", {"path": SEND, "errcode": 40001, "count": 25})
        await add_price_alert(wctx.sessionmaker, openids[10:])
        await drain_with_retries(wctx)

        found = await rows(wctx)
        assert [d.status for d in found] == ["sent"] * 60
        stats = await sim.stats()
        assert stats["errors"]["40001"] >= 25  # the burst and the revoked token were seen
        assert stats["template_unique_client_msg_ids"] == 60
        assert_each_fan_saw_once(sim, found)
        assert await wctx.redis.llen(DEAD_LETTER_KEY) == 0


class TestQuota:
    async def test_45009_pauses_until_beijing_midnight_then_sends_the_rest(self, wctx, sim):
        openids = fans(25)
        await sim.subscribe(openids)
        await sim.post("/_admin/quota", {"api": "template_send", "daily_limit": 10, "used": 0})
        await add_price_alert(wctx.sessionmaker, openids)
        await drain(wctx)

        reset = next_beijing_midnight(wctx.clock.now())
        found = await rows(wctx)
        sent = [d for d in found if d.status == "sent"]
        waiting = [d for d in found if d.status == "pending"]
        assert (len(sent), len(waiting)) == (10, 15)
        assert {(d.next_attempt_at, d.attempts) for d in waiting} == {(reset, 0)}
        assert {d.errcode for d in waiting} <= {45009, None}  # never-started sends carry none
        assert await wctx.redis.exists(PAUSE_KEYS[Kind.DELIVERY])
        assert (await sim.stats())["template_accepted"] == 10

        # Still the same day: a new alert is read from the stream but deferred, not sent.
        late = fans(1, "oLate")
        await sim.subscribe(late)
        [late_id] = await add_price_alert(wctx.sessionmaker, late)
        await drain(wctx)
        assert (await sim.stats())["template_accepted"] == 10
        assert next(d for d in await rows(wctx) if d.id == late_id).next_attempt_at == reset

        # After the reset the quota is 10 again: ten more go out, the rest wait one more day.
        wctx.clock.current = reset + timedelta(seconds=1)
        await drain(wctx)
        assert len(await statuses(wctx, "sent")) == 20
        wctx.clock.current = next_beijing_midnight(wctx.clock.now()) + timedelta(seconds=1)
        await drain(wctx)

        found = await rows(wctx)
        assert [d.status for d in found] == ["sent"] * 26
        assert (await sim.stats())["template_unique_client_msg_ids"] == 26
        assert_each_fan_saw_once(sim, found)


class TestTransientErrors:
    async def test_ten_percent_minus_one_all_delivered_or_dead_lettered(self, wctx, sim):
        openids = fans(200)
        await sim.subscribe(openids)
        await sim.post("/_admin/faults", {"path": SEND, "errcode": -1, "rate": 0.1})
        await add_price_alert(wctx.sessionmaker, openids)
        await drain_with_retries(wctx)

        found = await rows(wctx)
        sent = [d for d in found if d.status == "sent"]
        failed = [d for d in found if d.status == "failed"]
        assert len(sent) + len(failed) == 200
        assert len(sent) >= 195  # five tries each: a fan fails only after five -1 in a row
        assert all((d.errcode, d.attempts) == (-1, 5) for d in failed)
        dead = await wctx.redis.lrange(DEAD_LETTER_KEY, 0, -1)
        assert sorted(dead) == sorted(f"delivery:{d.id}".encode() for d in failed)
        retried = [d for d in sent if d.attempts > 1]
        assert retried  # about 10 % of first tries failed and were retried
        async with wctx.sessionmaker() as session:
            minus_one = (
                await session.scalars(select(DeliveryEvent).where(DeliveryEvent.errcode == -1))
            ).all()
        # Each -1 WeChat answered became exactly one recorded outcome: a retry or a failure.
        stats = await sim.stats()
        assert len(minus_one) == stats["errors"]["-1"]
        assert sum(d.attempts - 1 for d in sent) + 5 * len(failed) == len(minus_one)
        assert stats["template_unique_client_msg_ids"] == len(sent)
        assert_each_fan_saw_once(sim, found)


# -- receipts through the real callback -----------------------------------------------------


@pytest.fixture
async def receipt_app(
    engine: AsyncEngine, redis: Redis, clock: FakeClock, truncate_tables: None
) -> AsyncIterator[FastAPI]:
    """The real app (webhook included) on the shared FakeClock, so signatures are fresh."""
    async with httpx.AsyncClient() as http:
        resources = Resources(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=redis,
            http=http,
            clock=clock,
            owned=False,
        )
        application = create_app(make_settings(), resources)
        async with application.router.lifespan_context(application):
            yield application


class TestReceipts:
    @pytest.mark.parametrize("mode", ["safe", "plain"])
    async def test_jobfinish_callbacks_set_delivered_or_failed_by_msgid(
        self, mode, receipt_app, sessionmaker, push_redis, clock, config
    ):
        app_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=receipt_app), base_url="http://testserver"
        )
        sim = make_sim(
            clock, app_http, webhook_url="http://testserver/wechat", callback_enabled=True,
            callback_mode=mode,
        )  # fmt: skip
        client = sim_client(sim.app, push_redis, clock)
        ctx = make_ctx(sessionmaker, push_redis, client, clock, config)  # type: ignore[arg-type]
        try:
            outcomes = {"success": 0.6, "failed:user block": 0.2, "failed: system failed": 0.2}
            await sim.post("/_admin/callback", {"enabled": True, "outcomes": outcomes})
            openids = fans(40)
            await sim.subscribe(openids)
            await add_price_alert(sessionmaker, openids)
            await drain(ctx)
            await sim.state.callbacks.join()  # every receipt was answered by our /wechat

            stats = await sim.stats()
            assert (stats["callbacks_sent"], stats["callbacks_rejected"]) == (40, 0)
            found = await rows(ctx)
            by_status: dict[str, int] = {}
            for d in found:
                [shown] = sim.inbox(d.openid)
                assert shown["msgid"] == d.msgid
                expected = "delivered" if shown["status"] == "success" else "failed"
                assert d.status == expected, (d.id, shown["status"])
                by_status[d.status] = by_status.get(d.status, 0) + 1
            assert set(by_status) == {"delivered", "failed"}  # both outcomes were exercised
            async with sessionmaker() as session:
                history = (await session.execute(
                    select(DeliveryEvent.from_status, DeliveryEvent.to_status)
                    .where(DeliveryEvent.delivery_id == found[0].id).order_by(DeliveryEvent.id)
                )).all()  # fmt: skip
            assert [tuple(h) for h in history] == [("sending", "sent"), ("sent", found[0].status)]
        finally:
            await client.aclose()
            await sim.admin.aclose()
            await sim.state.aclose()


# -- graceful shutdown ------------------------------------------------------------------------


class Gate:
    """The simulator's injected latency, held by the test: calls wait until it opens."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.open = asyncio.Event()
        self.waiting = 0

    async def sleep(self, _seconds: float) -> None:
        self.waiting += 1
        self.entered.set()
        await self.open.wait()


class TestGracefulStop:
    async def test_stop_mid_batch_finishes_the_batches_in_hand_starts_no_other_loses_nothing(
        self, sessionmaker, push_redis, clock, config
    ):
        gate = Gate()
        sim = make_sim(clock, sleep=gate.sleep)
        client = sim_client(sim.app, push_redis, clock)
        # 10 ids per batch, at most two batches in hand (one may be read while one sends).
        small = replace(config, ids_per_entry=5, worker_entries=2, batches_in_flight=2)
        ctx = make_ctx(sessionmaker, push_redis, client, clock, small)  # type: ignore[arg-type]
        try:
            openids = fans(30)
            await sim.subscribe(openids)
            await client.get_access_token()  # before the gate: only sends will wait on it
            await sim.post("/_admin/latency", {"fixed_ms": 5})
            ids = await add_price_alert(sessionmaker, openids)
            await relay(ctx)

            stop = asyncio.Event()
            worker = asyncio.create_task(run_worker(ctx, stop))
            await gate.entered.wait()  # the first batch is claimed and its sends are in flight
            stop.set()
            gate.open.set()
            await asyncio.wait_for(worker, 30)  # a safety net, not a timing assertion

            found = {d.id: d for d in await rows(ctx)}
            in_hand = gate.waiting  # whole batches: those read before the stop, no other
            assert in_hand in (10, 20)
            first = sorted(ids)[:in_hand]
            assert [found[i].status for i in first] == ["sent"] * in_hand
            shown = await shown_statuses(ctx)
            assert {shown[i] for i in ids if i not in first} == {"queued"}
            stream_key = STREAMS["market"]
            assert int((await push_redis.xpending(stream_key, GROUP))["pending"]) == 0  # acked
            assert await push_redis.xlen(stream_key) == (30 - in_hand) // 5  # the rest waits

            restarted = make_ctx(sessionmaker, push_redis, client, clock, small, consumer="w2")  # type: ignore[arg-type]
            await drain(restarted)
            found_after = await rows(ctx)
            assert [d.status for d in found_after] == ["sent"] * 30
            assert_each_fan_saw_once(sim, found_after)
        finally:
            gate.open.set()
            await client.aclose()
            await sim.admin.aclose()
            await sim.state.aclose()
