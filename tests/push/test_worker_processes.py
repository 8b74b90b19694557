"""A real `wxbroker worker` process against the WeChat simulator over loopback HTTP.

20,000 committed deliveries (2,000 fans x 10 alerts). Halfway through, the worker is killed
with SIGKILL (then restarted), or Redis loses everything (FLUSHDB of the test DB). Either way
every delivery ends `sent`, the simulator counted exactly 20,000 unique client_msg_ids, and no
fan's inbox shows a message twice.

The worker runs with short leases (PUSH_SEND_LEASE_S=3, PUSH_AUTOCLAIM_IDLE_MS=3000) so that
recovery takes seconds, not the production minute. Waiting is on events where one exists (the
simulator's counter sets a threading.Event); the end state lives in another process's
database writes, so it is polled with a deadline (a safety net, never a timing assertion).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.db import unit_of_work
from app.core.redis import Redis
from app.core.time import FakeClock
from app.push import service
from app.push.models import Delivery
from app.simulator.state import WeChatSimulator
from app.simulator.wechat_api import create_wechat_simulator
from tests.conftest import (
    REDIS_URL,
    TEST_AES_KEY,
    TEST_APP_ID,
    TEST_APP_SECRET,
    TEST_DB_NAME,
    TEST_TOKEN,
    LoopbackServer,
    make_sim_config,
    pg_url,
)

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = "SimPriceAlert_c2Rz8WcJ0tLg3MnP5qS7uX9zB1dF4"
DATA = {"thing1": "贵州茅台", "amount2": "¥1688.00", "thing3": "高于1680元", "time4": "10:31"}
FANS = 2_000
ALERTS = 10
TOTAL = FANS * ALERTS
HALFWAY = TOTAL // 2
DEADLINE_S = 120.0  # safety net against a hung run; the runs take a fraction of it


class SendCounter:
    """ASGI wrapper around the simulator: sets `halfway` once half the unique sends arrived."""

    def __init__(self, app: ASGIApp, sim: WeChatSimulator, threshold: int) -> None:
        self.app = app
        self.sim = sim
        self.threshold = threshold
        self.halfway = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if len(self.sim.unique_client_msg_ids) >= self.threshold:
            self.halfway.set()


class SimServer:
    def __init__(self, clock: FakeClock) -> None:
        app = create_wechat_simulator(make_sim_config(clock, auto_fans=True))
        self.sim: WeChatSimulator = app.state.simulator
        self.sim.quotas.configure("/cgi-bin/message/template/send", daily_limit=10 * TOTAL, used=0)
        self.counter = SendCounter(app, self.sim, HALFWAY)
        self.server = LoopbackServer(self.counter).start()  # type: ignore[arg-type]

    @property
    def url(self) -> str:
        return self.server.url

    async def stats(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as http:
            return dict((await http.get("/stats")).json())


@pytest.fixture
def sim_server(clock: FakeClock) -> Iterator[SimServer]:
    server = SimServer(clock)
    yield server
    server.server.stop()


def worker_env(sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECHAT_", "PUSH_"))}
    env.update(
        {
            "ENVIRONMENT": "dev",
            "DATABASE_URL": pg_url(TEST_DB_NAME),
            "REDIS_URL": REDIS_URL,
            "WECHAT_APP_ID": TEST_APP_ID,
            "WECHAT_APP_SECRET": TEST_APP_SECRET,
            "WECHAT_TOKEN": TEST_TOKEN,
            "WECHAT_ENCODING_AES_KEY": TEST_AES_KEY,
            "WECHAT_API_BASE_URL": sim_url,
            "MOUNT_SIMULATOR": "false",
            "LOG_LEVEL": "WARNING",
            "LOG_JSON": "false",
            "PUSH_SEND_LEASE_S": "3",
            "PUSH_AUTOCLAIM_IDLE_MS": "3000",
            "PUSH_RECONCILE_INTERVAL_S": "1",
        }
    )
    return env


class WorkerProcess:
    """`python -m app worker` with its output in a file (a pipe nobody reads would block it)."""

    def __init__(self, sim_url: str, log_path: Path) -> None:
        self.sim_url = sim_url
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app", "worker",
                cwd=ROOT, env=worker_env(self.sim_url), stdout=log, stderr=log,
            )  # fmt: skip

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert await self.proc.wait() == -signal.SIGKILL

    async def terminate(self) -> int:
        """SIGTERM: the worker finishes the batch in hand and exits cleanly."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        return await asyncio.wait_for(self.proc.wait(), DEADLINE_S)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


@pytest.fixture
async def workers(sim_server: SimServer, tmp_path: Path) -> AsyncIterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        if worker.proc is not None and worker.proc.returncode is None:
            worker.proc.kill()
            await worker.proc.wait()


async def spawn(workers: list[WorkerProcess], sim_url: str, tmp_path: Path) -> WorkerProcess:
    worker = WorkerProcess(sim_url, tmp_path / f"worker-{len(workers)}.log")
    await worker.start()
    workers.append(worker)
    return worker


async def commit_deliveries(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    openids = [f"oProcFan{i:06d}" for i in range(FANS)]
    async with unit_of_work(sessionmaker) as session:
        for n in range(ALERTS):
            alert = await service.create_alert(
                session, alert_type="watchlist_price", severity="market",
                payload={"n": n}, source="test",
            )  # fmt: skip
            await service.create_deliveries(
                session, alert=alert, template_id=TEMPLATE,
                recipients=[(openid, DATA) for openid in openids],
            )  # fmt: skip


async def count_sent(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        stmt = select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
        return int(await session.scalar(stmt) or 0)


async def wait_all_sent(
    sessionmaker: async_sessionmaker[AsyncSession], workers: list[WorkerProcess]
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE_S
    while await count_sent(sessionmaker) < TOTAL:
        if loop.time() > deadline:
            raise AssertionError(f"not all sent; worker log:\n{workers[-1].output()}")
        await asyncio.sleep(0.25)  # polling another process's commits, with a deadline


async def halfway(server: SimServer) -> None:
    reached = await asyncio.to_thread(server.counter.halfway.wait, DEADLINE_S)
    assert reached, "the worker never got halfway"


async def assert_exactly_once(
    server: SimServer, sessionmaker: async_sessionmaker[AsyncSession]
) -> dict[str, Any]:
    """Each of the 20,000 deliveries reached its fan once, under the msgid we recorded."""
    stats = await server.stats()
    assert stats["template_unique_client_msg_ids"] == TOTAL
    assert stats["template_accepted"] == TOTAL  # repeats were dropped, not delivered
    async with sessionmaker() as session:
        rows = (await session.execute(select(Delivery.id, Delivery.openid, Delivery.msgid))).all()
    assert len(rows) == TOTAL
    shown: dict[str, int] = {}
    for openid in {openid for _, openid, _ in rows}:
        inbox = server.sim.inbox.list(openid)
        ids = [m["payload"]["client_msg_id"] for m in inbox]
        assert len(ids) == len(set(ids)) == ALERTS, openid  # no fan sees a duplicate
        shown.update({m["payload"]["client_msg_id"]: m["msgid"] for m in inbox})
    assert all(shown[str(i)] == msgid for i, _, msgid in rows)
    return stats


class TestWorkerCrash:
    async def test_kill_9_halfway_then_restart_delivers_each_exactly_once(
        self, sim_server, workers, sessionmaker, redis, tmp_path
    ):
        await commit_deliveries(sessionmaker)
        first = await spawn(workers, sim_server.url, tmp_path)
        await halfway(sim_server)
        await first.kill()
        sent_at_kill = await count_sent(sessionmaker)
        assert sent_at_kill < TOTAL, "the kill came too late to test anything"

        second = await spawn(workers, sim_server.url, tmp_path)
        await wait_all_sent(sessionmaker, workers)
        assert await second.terminate() == 0, second.output()
        await assert_exactly_once(sim_server, sessionmaker)


class TestRedisLoss:
    async def test_flushdb_halfway_still_delivers_everything_once(
        self, sim_server, workers, sessionmaker, redis: Redis, tmp_path
    ):
        await commit_deliveries(sessionmaker)
        worker = await spawn(workers, sim_server.url, tmp_path)
        await halfway(sim_server)
        await redis.flushdb()  # streams, group, token, epoch: all gone
        assert await count_sent(sessionmaker) < TOTAL, "the flush came too late"

        await wait_all_sent(sessionmaker, workers)
        assert await worker.terminate() == 0, worker.output()
        await assert_exactly_once(sim_server, sessionmaker)
        # Once at start-up (an empty Redis), once more after the flush.
        assert worker.output().count("push.reconciler.redis_data_lost") >= 2
