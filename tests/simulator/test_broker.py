"""Sandbox counter over HTTP: contract envelopes and statuses, admin knobs, the dev mount."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from app.brokerage.demo_data import CUSTOMERS
from app.brokerage.password import encrypt_password
from app.core.config import Settings
from app.core.time import FakeClock
from app.simulator.broker import create_broker_sandbox
from app.simulator.broker_state import BrokerSandboxConfig
from tests.brokerage.sandbox_helpers import BASE, TRADING_NOW, http_to, make_sandbox, sandbox_of
from tests.conftest import make_settings

ZHANG, LI, WANG, LIU = CUSTOMERS
POSITIONS = f"/v1/clients/{LI.client_id}/accounts/{LI.accounts[0].account_id}/positions"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(TRADING_NOW)


@pytest.fixture
def sandbox_app(clock: FakeClock) -> FastAPI:
    return make_sandbox(clock)


@pytest.fixture
async def http(sandbox_app: FastAPI):
    async with http_to(sandbox_app) as client:
        yield client


class TestContract:
    async def test_success_is_a_data_envelope_with_decimal_strings(
        self, http: httpx.AsyncClient
    ) -> None:
        body = (await http.get(POSITIONS)).json()
        first = body["data"][0]
        assert first["security_code"] == "601988"
        assert first["market_value"] == "104000.00"

    async def test_maintenance_is_503_with_retry_after(
        self, http: httpx.AsyncClient, clock: FakeClock
    ) -> None:
        clock.current = datetime(2026, 1, 7, 16, 0, tzinfo=UTC)  # 00:00 Beijing
        response = await http.get(POSITIONS)
        assert response.status_code == 503
        assert response.headers["retry-after"] == "60"
        error = response.json()["error"]
        assert error["code"] == "maintenance"
        assert error["window_end"].startswith("2026-01-08T00:30:00")

    async def test_malformed_body_is_invalid_request(self, http: httpx.AsyncClient) -> None:
        response = await http.post("/v1/auth/verify", json={"account_no": "x"})
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_request"

    async def test_wrong_password_is_401_with_attempts_left(self, http: httpx.AsyncClient) -> None:
        pem = (await http.get("/v1/auth/public-key")).json()["data"]["pem"]
        await http.post("/v1/auth/sms-codes", json={"account_no": LI.accounts[0].account_no})
        response = await http.post(
            "/v1/auth/verify",
            json={
                "account_no": LI.accounts[0].account_no,
                "encrypted_password": encrypt_password(pem, "000000"),
                "sms_code": "123456",
            },
        )
        assert response.status_code == 401
        assert response.json()["error"] == {
            "code": "invalid_credentials",
            "message": "wrong account number or password",
            "attempts_left": 4,
        }

    async def test_locked_is_423(self, http: httpx.AsyncClient) -> None:
        response = await http.post(
            "/v1/auth/sms-codes", json={"account_no": LIU.accounts[0].account_no}
        )
        assert response.status_code == 423
        assert response.json()["error"]["code"] == "account_locked"

    async def test_channel_key_is_checked_when_configured(self) -> None:
        async with http_to(make_sandbox(api_key="k")) as http:
            assert (await http.get("/v1/auth/public-key")).status_code == 401
            ok = await http.get("/v1/auth/public-key", headers={"X-Api-Key": "k"})
            assert ok.status_code == 200


class TestAdmin:
    async def test_fault_must_have_exactly_one_known_effect(self, http: httpx.AsyncClient) -> None:
        for bad in ({"op": "*"}, {"error_code": "nope"}, {"timeout": True, "garbage": True}):
            assert (await http.post("/_admin/faults", json=bad)).status_code == 400

    async def test_fault_count_and_clear(self, http: httpx.AsyncClient) -> None:
        await http.post("/_admin/faults", json={"op": "positions", "http_status": 500, "count": 1})
        assert (await http.get(POSITIONS)).status_code == 500
        assert (await http.get(POSITIONS)).status_code == 200
        await http.post("/_admin/faults", json={"op": "*", "error_code": "rate_limited"})
        assert (await http.get(POSITIONS)).status_code == 429
        await http.delete("/_admin/faults")
        assert (await http.get(POSITIONS)).status_code == 200
        stats = (await http.get("/_admin/stats")).json()
        assert stats["faults_fired"] == {"positions": 2}

    async def test_fault_rate_zero_never_fires(self, http: httpx.AsyncClient) -> None:
        await http.post("/_admin/faults", json={"http_status": 500, "rate": 0})
        assert (await http.get(POSITIONS)).status_code == 200

    async def test_latency_is_applied_through_the_injected_sleep(self) -> None:
        slept: list[float] = []

        async def record(seconds: float) -> None:
            slept.append(seconds)

        app = create_broker_sandbox(BrokerSandboxConfig(clock=FakeClock(TRADING_NOW), sleep=record))
        async with http_to(app) as http:
            await http.post("/_admin/latency", json={"fixed_ms": 50, "jitter_ms": 0})
            await http.get(POSITIONS)
        assert slept == [0.05]

    async def test_maintenance_modes(self, http: httpx.AsyncClient) -> None:
        on = (await http.post("/_admin/maintenance", json={"mode": "on"})).json()
        assert on["in_maintenance"] is True
        assert (await http.get(POSITIONS)).status_code == 503
        off = (await http.post("/_admin/maintenance", json={"mode": "auto"})).json()
        assert off["in_maintenance"] is False
        assert (await http.post("/_admin/maintenance", json={"mode": "maybe"})).status_code == 400

    async def test_sms_page_and_reset(self, http: httpx.AsyncClient, sandbox_app: FastAPI) -> None:
        key_before = (await http.get("/v1/auth/public-key")).json()["data"]["key_id"]
        assert (await http.get(f"/_admin/sms/{LI.phone}")).status_code == 404
        await http.post("/v1/auth/sms-codes", json={"account_no": LI.accounts[0].account_no})
        page = (await http.get(f"/_admin/sms/{LI.phone}")).json()
        assert page["latest"]["channel"] == "counter"
        assert page["latest"]["code"] == sandbox_of(sandbox_app).gateway.sms_codes[LI.phone]
        assert [row["phone"] for row in (await http.get("/_admin/sms")).json()] == [LI.phone]
        await http.post("/_admin/reset")
        assert (await http.get(f"/_admin/sms/{LI.phone}")).status_code == 404
        assert (await http.get("/v1/auth/public-key")).json()["data"]["key_id"] == key_before

    async def test_customers_lists_demo_credentials(self, http: httpx.AsyncClient) -> None:
        rows = (await http.get("/_admin/customers")).json()
        assert rows[0]["accounts"][0] == {
            "account_no": "310000101001",
            "password": "135246",
            "type": "cash",
            "locked": False,
        }


# These tests run the sandbox on the wall clock: a zero-length nightly window keeps them off
# the real 23:30-00:30 Beijing maintenance (maintenance itself is tested on a fake clock).
NO_NIGHTLY_WINDOW = "04:00-04:00"


class TestDevMount:
    @pytest.fixture
    def settings(self) -> Settings:
        return make_settings(brokerage_sandbox_maintenance_window=NO_NIGHTLY_WINDOW)

    async def test_mounted_under_sim_broker(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/_sim/broker/v1/auth/public-key")
        assert response.status_code == 200
        assert "BEGIN PUBLIC KEY" in response.json()["data"]["pem"]
        admin = await client.get("/_sim/broker/_admin/customers")
        assert len(admin.json()) == len(CUSTOMERS)

    async def test_sim_app_mounts_it_too(self) -> None:
        from app.simulator.main import create_sim_app

        sim = create_sim_app(make_settings(brokerage_sandbox_maintenance_window=NO_NIGHTLY_WINDOW))
        transport = httpx.ASGITransport(app=sim)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
            response = await http.get("/_sim/broker/v1/calendar?start=2026-01-01&end=2026-01-09")
        assert response.json()["data"]["trading_days"][0] == "2026-01-05"
