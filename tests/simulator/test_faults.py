"""Fault and latency injection: error codes at a rate, N times, HTTP 5xx, hangs, added latency."""

from __future__ import annotations

import asyncio
import random
import statistics
from collections.abc import AsyncIterator

import httpx
import pytest

from app.core.time import FakeClock
from app.simulator.faults import Latency
from app.simulator.state import WeChatSimulator
from app.simulator.wechat_api import create_wechat_simulator
from tests.conftest import make_sim_config
from tests.simulator.conftest import call, fetch_token

LIST = "/cgi-bin/template/get_all_private_template"


async def add_fault(client: httpx.AsyncClient, **rule: object) -> dict[str, object]:
    response = await client.post("/_admin/faults", json=rule)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


class TestErrorFaults:
    async def test_errcode_for_n_calls_then_normal(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await add_fault(wechat_sim_client, path=LIST, errcode=-1, count=2)
        codes = [(await call(wechat_sim_client, LIST, token))["errcode"] for _ in range(3)]
        assert codes == [-1, -1, 0]
        stats = (await wechat_sim_client.get("/stats")).json()
        assert stats["errors"] == {"-1": 2}
        assert stats["faults_active"] == 0

    async def test_fault_applies_only_to_its_path(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await add_fault(wechat_sim_client, path="/cgi-bin/menu/get", errcode=45009)
        assert (await call(wechat_sim_client, LIST, token))["errcode"] == 0
        body = await call(wechat_sim_client, "/cgi-bin/menu/get", token)
        assert body == {"errcode": 45009, "errmsg": "reach max api daily quota limit"}

    async def test_star_matches_token_calls_too(self, wechat_sim_client: httpx.AsyncClient) -> None:
        await add_fault(wechat_sim_client, path="*", errcode=40164, count=1)
        first = await wechat_sim_client.get("/cgi-bin/token")
        assert first.json()["errcode"] == 40164
        assert await fetch_token(wechat_sim_client)

    async def test_rate_is_a_probability(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await add_fault(wechat_sim_client, path=LIST, errcode=-1, rate=0.5)
        codes = [(await call(wechat_sim_client, LIST, token))["errcode"] for _ in range(200)]
        assert 60 < codes.count(-1) < 140  # seeded dice: deterministic, roughly half

    async def test_rate_zero_never_fires(
        self, wechat_sim_client: httpx.AsyncClient, token: str
    ) -> None:
        await add_fault(wechat_sim_client, path=LIST, errcode=-1, rate=0.0)
        assert {(await call(wechat_sim_client, LIST, token))["errcode"] for _ in range(20)} == {0}

    async def test_http_status(self, wechat_sim_client: httpx.AsyncClient, token: str) -> None:
        await add_fault(wechat_sim_client, path=LIST, http_status=502, count=1)
        response = await wechat_sim_client.get(LIST, params={"access_token": token})
        assert response.status_code == 502
        assert (await wechat_sim_client.get("/stats")).json()["errors"] == {"http_502": 1}

    async def test_clearing_faults(self, wechat_sim_client: httpx.AsyncClient, token: str) -> None:
        await add_fault(wechat_sim_client, path=LIST, errcode=-1)
        assert len((await wechat_sim_client.get("/_admin/faults")).json()) == 1
        await wechat_sim_client.delete("/_admin/faults")
        assert (await call(wechat_sim_client, LIST, token))["errcode"] == 0


class TestHang:
    async def test_hangs_until_released_then_answers_system_error(
        self, wechat_sim_client: httpx.AsyncClient, sim: WeChatSimulator, token: str
    ) -> None:
        await add_fault(wechat_sim_client, path=LIST, timeout=True, hang_s=60)
        pending = asyncio.create_task(call(wechat_sim_client, LIST, token))
        await sim.faults.hang_started.wait()
        assert sim.faults.hanging == 1
        assert not pending.done()
        await wechat_sim_client.delete("/_admin/faults")
        assert (await pending)["errcode"] == -1
        assert sim.faults.hanging == 0


class RecordingSleep:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def slept(clock: FakeClock) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingSleep]]:
    recorder = RecordingSleep()
    app = create_wechat_simulator(make_sim_config(clock, sleep=recorder))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        yield client, recorder
    await app.state.simulator.aclose()


class TestLatency:
    async def test_fixed_latency_before_every_api_call_not_admin(
        self, slept: tuple[httpx.AsyncClient, RecordingSleep]
    ) -> None:
        client, recorder = slept
        await client.post("/_admin/latency", json={"fixed_ms": 20})
        await fetch_token(client)
        await client.get("/stats")
        assert recorder.calls == [pytest.approx(0.020)]

    async def test_fault_latency_adds_to_the_base(
        self, slept: tuple[httpx.AsyncClient, RecordingSleep]
    ) -> None:
        client, recorder = slept
        await client.post("/_admin/latency", json={"fixed_ms": 20})
        await add_fault(client, path="/cgi-bin/token", latency_ms=100, count=1)
        token = await fetch_token(client)
        assert token
        assert recorder.calls == [pytest.approx(0.120)]

    async def test_bad_latency_body_is_422(
        self, slept: tuple[httpx.AsyncClient, RecordingSleep]
    ) -> None:
        client, _ = slept
        response = await client.post("/_admin/latency", json={"distribution": "pareto"})
        assert response.status_code == 422
        assert response.json()["error"] == "validation_error"


class TestLatencyDistributions:
    def test_fixed(self) -> None:
        assert Latency(20, 50, "fixed").sample_s(random.Random(1)) == pytest.approx(0.02)

    def test_uniform_stays_within_fixed_plus_jitter(self) -> None:
        rng = random.Random(1)
        samples = [Latency(20, 10, "uniform").sample_s(rng) for _ in range(500)]
        assert min(samples) >= 0.020
        assert max(samples) <= 0.030
        assert max(samples) - min(samples) > 0.008

    def test_lognormal_has_median_fixed_and_a_long_tail(self) -> None:
        rng = random.Random(1)
        samples = [Latency(20, 20, "lognormal").sample_s(rng) for _ in range(4000)]
        assert statistics.median(samples) == pytest.approx(0.020, rel=0.1)
        assert max(samples) > 0.060
        assert min(samples) > 0
