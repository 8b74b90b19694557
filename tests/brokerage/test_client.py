"""HttpBrokerageGateway against the sandbox counter: every read, binding, every error mapping."""

from __future__ import annotations

import socket
from datetime import UTC, date, datetime, time
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI

from app.brokerage.client import HttpBrokerageGateway, create_brokerage_gateway
from app.brokerage.demo_data import CUSTOMERS
from app.brokerage.errors import (
    AccountLockedError,
    ChannelAuthError,
    InvalidCredentialsError,
    InvalidRequestError,
    InvalidResponseError,
    InvalidSmsCodeError,
    MaintenanceError,
    PasswordDecryptError,
    RateLimitedError,
    UnavailableError,
    UnknownAccountError,
)
from app.brokerage.fake import InMemoryBrokerageGateway
from app.brokerage.gateway import AccountType, IpoStatus, OrderStatus
from app.brokerage.password import encrypt_password
from app.brokerage.transport import AiohttpCounterHttp
from app.core.time import BEIJING, FakeClock
from app.simulator.broker_state import BrokerSandbox
from tests.brokerage.sandbox_helpers import BASE, latest_code, loopback, make_sandbox, sandbox_of
from tests.conftest import make_settings

ACCOUNTS = [(c, a) for c in CUSTOMERS for a in c.accounts]
ACCOUNT_IDS = [a.account_no for _, a in ACCOUNTS]
READS = [
    "get_assets",
    "get_liabilities",
    "get_positions",
    "get_holding_pnl",
    "get_today_orders",
    "get_today_fund_flows",
    "get_ipo_subscriptions",
]
ZHANG, LI, WANG, LIU = CUSTOMERS


async def bind(
    gateway: HttpBrokerageGateway,
    http: httpx.AsyncClient,
    account_no: str,
    password: str,
    phone: str,
):
    key = await gateway.get_public_key()
    await gateway.send_sms_code(account_no=account_no)
    code = await latest_code(http, phone)
    return await gateway.verify_credentials(
        account_no=account_no,
        encrypted_password=encrypt_password(key.pem, password),
        sms_code=code,
    )


class TestReads:
    @pytest.mark.parametrize(("customer", "account"), ACCOUNTS, ids=ACCOUNT_IDS)
    @pytest.mark.parametrize("method", READS)
    async def test_every_read_matches_the_counter_exactly(
        self,
        gateway: HttpBrokerageGateway,
        fake: InMemoryBrokerageGateway,
        customer,
        account,
        method: str,
    ) -> None:
        ids = {"client_id": customer.client_id, "account_id": account.account_id}
        over_http = await getattr(gateway, method)(**ids)
        in_memory = await getattr(fake, method)(**ids)
        assert over_http == in_memory  # Decimal, dates and codes survive the wire unchanged

    @pytest.mark.parametrize("customer", CUSTOMERS, ids=[c.name for c in CUSTOMERS])
    async def test_personal_info_and_accounts(
        self, gateway: HttpBrokerageGateway, customer
    ) -> None:
        info = await gateway.get_personal_info(client_id=customer.client_id)
        assert info.name == customer.name
        assert info.phone_masked == customer.phone[:3] + "****" + customer.phone[-4:]
        accounts = await gateway.list_accounts(client_id=customer.client_id)
        assert [a.account_no for a in accounts] == [a.account_no for a in customer.accounts]

    async def test_positions_keep_leading_zeros_and_consistent_pnl(
        self, gateway: HttpBrokerageGateway
    ) -> None:
        cash = ZHANG.accounts[0]
        rows = await gateway.get_positions(client_id=ZHANG.client_id, account_id=cash.account_id)
        by_code = {p.security_code: p for p in rows}
        assert "000001" in by_code
        bank = by_code["000001"]
        assert bank.pnl_amount == Decimal("-6900.00")
        assert bank.pnl_ratio < 0
        assert bank.available_quantity == bank.quantity - 1000  # bought today: T+1
        assert [p.market_value for p in rows] == sorted(
            (p.market_value for p in rows), reverse=True
        )
        assets = await gateway.get_assets(client_id=ZHANG.client_id, account_id=cash.account_id)
        assert assets.total_assets == assets.cash_balance + assets.market_value
        assert assets.frozen == Decimal("24000.00")  # the open 宁德时代 buy order
        pnl = await gateway.get_holding_pnl(client_id=ZHANG.client_id, account_id=cash.account_id)
        assert pnl.pnl_amount == sum(p.pnl_amount for p in rows)

    async def test_margin_account_reports_debt_and_maintenance_ratio(
        self, gateway: HttpBrokerageGateway
    ) -> None:
        margin = ZHANG.accounts[1]
        assert margin.account_type is AccountType.MARGIN
        debt = await gateway.get_liabilities(
            client_id=ZHANG.client_id, account_id=margin.account_id
        )
        assert debt.is_margin
        assert debt.financing_debt == Decimal("300000.00")
        assert debt.securities_lending_debt == Decimal("10400.00")
        assert debt.total_debt == Decimal("312262.47")
        assert debt.maintenance_ratio == Decimal("1.935743")

    async def test_cash_account_has_no_debt(self, gateway: HttpBrokerageGateway) -> None:
        cash = LI.accounts[0]
        debt = await gateway.get_liabilities(client_id=LI.client_id, account_id=cash.account_id)
        assert not debt.is_margin
        assert debt.total_debt == 0
        assert debt.maintenance_ratio is None

    async def test_ipo_win_is_due_at_16_on_t_plus_2(self, gateway: HttpBrokerageGateway) -> None:
        rows = await gateway.get_ipo_subscriptions(
            client_id=LI.client_id, account_id=LI.accounts[0].account_id
        )
        won = next(r for r in rows if r.status is IpoStatus.WON)
        # Applied Monday 2026-01-05 (T); T+2 = Wednesday 2026-01-07, 16:00 Beijing.
        assert won.applied_on == date(2026, 1, 5)
        assert won.payment_due_at == datetime(2026, 1, 7, 16, 0, tzinfo=BEIJING)
        assert won.payment_amount == Decimal("14440.00")
        assert {r.status for r in rows} == {
            IpoStatus.WON,
            IpoStatus.APPLIED,
            IpoStatus.LOST,
            IpoStatus.PAID,
        }

    async def test_empty_new_account_answers_zeros_and_empty_lists(
        self, gateway: HttpBrokerageGateway
    ) -> None:
        ids = {"client_id": WANG.client_id, "account_id": WANG.accounts[0].account_id}
        assets = await gateway.get_assets(**ids)
        assert assets.total_assets == assets.available == 0
        for method in (
            "get_positions",
            "get_today_orders",
            "get_today_fund_flows",
            "get_ipo_subscriptions",
        ):
            assert await getattr(gateway, method)(**ids) == []
        pnl = await gateway.get_holding_pnl(**ids)
        assert pnl.positions_count == 0
        assert pnl.pnl_ratio == 0

    async def test_orders_are_todays_with_statuses(self, gateway: HttpBrokerageGateway) -> None:
        cash = ZHANG.accounts[0]
        orders = await gateway.get_today_orders(
            client_id=ZHANG.client_id, account_id=cash.account_id
        )
        assert {o.placed_at.astimezone(BEIJING).date() for o in orders} == {date(2026, 1, 7)}
        assert OrderStatus.REPORTED in {o.status for o in orders}

    async def test_weekend_has_no_orders_or_flows(
        self, gateway: HttpBrokerageGateway, broker_clock: FakeClock
    ) -> None:
        broker_clock.current = datetime(2026, 1, 10, 3, 0, tzinfo=UTC)  # Saturday
        ids = {"client_id": ZHANG.client_id, "account_id": ZHANG.accounts[0].account_id}
        assert await gateway.get_today_orders(**ids) == []
        assert await gateway.get_today_fund_flows(**ids) == []

    async def test_trading_calendar_skips_weekends_and_holidays(
        self, gateway: HttpBrokerageGateway
    ) -> None:
        cal = await gateway.get_trading_calendar(start=date(2025, 12, 29), end=date(2026, 1, 9))
        assert not cal.is_trading_day(date(2026, 1, 1))
        assert not cal.is_trading_day(date(2026, 1, 3))
        assert cal.shift(date(2025, 12, 31), 1) == date(2026, 1, 5)

    async def test_calendar_range_too_long_is_invalid_request(
        self, gateway: HttpBrokerageGateway
    ) -> None:
        with pytest.raises(InvalidRequestError):
            await gateway.get_trading_calendar(start=date(2020, 1, 1), end=date(2026, 1, 1))


class TestBinding:
    async def test_browser_encrypted_password_and_sms_code_bind(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        margin = ZHANG.accounts[1]
        holder = await bind(gateway, http, margin.account_no, margin.password, ZHANG.phone)
        assert holder.client_id == ZHANG.client_id
        assert holder.verified_account.account_id == margin.account_id
        assert len(holder.accounts) == 2

    async def test_sms_challenge_masks_the_phone(self, gateway: HttpBrokerageGateway) -> None:
        challenge = await gateway.send_sms_code(account_no=LI.accounts[0].account_no)
        assert challenge.phone_masked == "138****0002"
        assert challenge.resend_after_s == 60

    async def test_code_is_one_time(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        account = LI.accounts[0]
        await bind(gateway, http, account.account_no, account.password, LI.phone)
        key = await gateway.get_public_key()
        with pytest.raises(InvalidSmsCodeError):
            await gateway.verify_credentials(
                account_no=account.account_no,
                encrypted_password=encrypt_password(key.pem, account.password),
                sms_code=await latest_code(http, LI.phone),
            )


class TestErrorMapping:
    async def test_wrong_password_counts_down_then_locks(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        account = WANG.accounts[0]
        key = await gateway.get_public_key()
        await gateway.send_sms_code(account_no=account.account_no)
        code = await latest_code(http, WANG.phone)
        attempt = {
            "account_no": account.account_no,
            "encrypted_password": encrypt_password(key.pem, "000000"),
            "sms_code": code,
        }
        lefts = []
        for _ in range(4):
            with pytest.raises(InvalidCredentialsError) as info:
                await gateway.verify_credentials(**attempt)
            lefts.append(info.value.attempts_left)
        assert lefts == [4, 3, 2, 1]
        with pytest.raises(AccountLockedError) as locked:
            await gateway.verify_credentials(**attempt)
        assert locked.value.locked_until is not None
        right = {**attempt, "encrypted_password": encrypt_password(key.pem, account.password)}
        with pytest.raises(AccountLockedError):
            await gateway.verify_credentials(**right)

    async def test_preset_locked_account(self, gateway: HttpBrokerageGateway) -> None:
        with pytest.raises(AccountLockedError):
            await gateway.send_sms_code(account_no=LIU.accounts[0].account_no)

    async def test_wrong_sms_code(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        account = LI.accounts[0]
        key = await gateway.get_public_key()
        await gateway.send_sms_code(account_no=account.account_no)
        code = await latest_code(http, LI.phone)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        with pytest.raises(InvalidSmsCodeError):
            await gateway.verify_credentials(
                account_no=account.account_no,
                encrypted_password=encrypt_password(key.pem, account.password),
                sms_code=wrong,
            )

    async def test_undecryptable_password(self, gateway: HttpBrokerageGateway) -> None:
        with pytest.raises(PasswordDecryptError):
            await gateway.verify_credentials(
                account_no=LI.accounts[0].account_no,
                encrypted_password="bm90LXJzYQ==",
                sms_code="123456",
            )

    async def test_unknown_account(self, gateway: HttpBrokerageGateway) -> None:
        with pytest.raises(UnknownAccountError):
            await gateway.send_sms_code(account_no="310000999999")

    async def test_sms_resend_is_rate_limited(self, gateway: HttpBrokerageGateway) -> None:
        await gateway.send_sms_code(account_no=LI.accounts[0].account_no)
        with pytest.raises(RateLimitedError) as info:
            await gateway.send_sms_code(account_no=LI.accounts[0].account_no)
        assert info.value.retry_after_s == 60

    async def test_forced_maintenance(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        await http.post(f"{BASE}/_admin/maintenance", json={"mode": "on"})
        with pytest.raises(MaintenanceError):
            await gateway.get_positions(
                client_id=LI.client_id, account_id=LI.accounts[0].account_id
            )

    async def test_nightly_window_carries_its_end(
        self, gateway: HttpBrokerageGateway, broker_clock: FakeClock
    ) -> None:
        broker_clock.current = datetime(2026, 1, 7, 15, 45, tzinfo=UTC)  # 23:45 Beijing
        with pytest.raises(MaintenanceError) as info:
            await gateway.get_public_key()
        assert info.value.window_end == datetime.combine(
            date(2026, 1, 8), time(0, 30), tzinfo=BEIJING
        )

    @pytest.mark.parametrize(
        "fault",
        [
            {"error_code": "unavailable"},
            {"http_status": 503},
            {"http_status": 500},
            {"http_status": 502},
        ],
    )
    async def test_counter_down(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient, fault: dict[str, object]
    ) -> None:
        await http.post(f"{BASE}/_admin/faults", json={"op": "assets", **fault})
        with pytest.raises(UnavailableError):
            await gateway.get_assets(client_id=LI.client_id, account_id=LI.accounts[0].account_id)

    async def test_timeout_becomes_unavailable(self, http: httpx.AsyncClient) -> None:
        await http.post(f"{BASE}/_admin/faults", json={"op": "positions", "timeout": True})
        impatient = HttpBrokerageGateway(http, base_url=BASE, timeout_s=0.05)
        with pytest.raises(UnavailableError):
            await impatient.get_positions(
                client_id=LI.client_id, account_id=LI.accounts[0].account_id
            )

    async def test_unreachable_counter_becomes_unavailable(self) -> None:
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        async with httpx.AsyncClient() as real_http:
            gw = HttpBrokerageGateway(real_http, base_url=f"http://127.0.0.1:{port}")
            with pytest.raises(UnavailableError):
                await gw.get_public_key()

    async def test_aiohttp_timeout_becomes_unavailable(
        self, http: httpx.AsyncClient, sandbox_app: FastAPI
    ) -> None:
        await http.post(f"{BASE}/_admin/faults", json={"op": "positions", "timeout": True})
        async with loopback(sandbox_app) as base:
            impatient = HttpBrokerageGateway(AiohttpCounterHttp(timeout_s=0.05), base_url=base)
            try:
                with pytest.raises(UnavailableError, match="timed out"):
                    await impatient.get_positions(
                        client_id=LI.client_id, account_id=LI.accounts[0].account_id
                    )
            finally:
                await impatient.aclose()

    async def test_aiohttp_unreachable_counter_becomes_unavailable(self) -> None:
        with socket.socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        gw = HttpBrokerageGateway(
            AiohttpCounterHttp(timeout_s=1.0), base_url=f"http://127.0.0.1:{port}"
        )
        try:
            with pytest.raises(UnavailableError, match="unreachable"):
                await gw.get_public_key()
        finally:
            await gw.aclose()

    async def test_off_contract_answer_is_invalid_response(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient
    ) -> None:
        await http.post(f"{BASE}/_admin/faults", json={"op": "pnl", "garbage": True})
        with pytest.raises(InvalidResponseError):
            await gateway.get_holding_pnl(
                client_id=LI.client_id, account_id=LI.accounts[0].account_id
            )

    @pytest.mark.parametrize(
        ("status", "error"),
        [(429, RateLimitedError), (401, ChannelAuthError), (404, InvalidResponseError)],
    )
    async def test_bare_statuses(
        self, gateway: HttpBrokerageGateway, http: httpx.AsyncClient, status: int, error: type
    ) -> None:
        await http.post(f"{BASE}/_admin/faults", json={"op": "*", "http_status": status})
        with pytest.raises(error):
            await gateway.get_public_key()

    async def test_wrong_channel_key(self, broker_clock: FakeClock) -> None:
        app = make_sandbox(broker_clock, api_key="right-key")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport) as http:
            wrong = HttpBrokerageGateway(http, base_url=BASE, api_key="wrong-key")
            with pytest.raises(ChannelAuthError):
                await wrong.get_public_key()
            right = HttpBrokerageGateway(http, base_url=BASE, api_key="right-key")
            assert (await right.get_public_key()).algorithm == "RSA-OAEP-256"


class TestAuthorisation:
    async def test_another_clients_account_is_unknown(self, gateway: HttpBrokerageGateway) -> None:
        with pytest.raises(UnknownAccountError):
            await gateway.get_positions(
                client_id=LI.client_id, account_id=ZHANG.accounts[0].account_id
            )

    @pytest.mark.parametrize("bad", ["../C8F2A19E", "A5D17C3B/../x", "", "A5D17C3B?x=1", "%2e%2e"])
    async def test_malformed_ids_never_reach_the_counter(
        self, gateway: HttpBrokerageGateway, sandbox: BrokerSandbox, bad: str
    ) -> None:
        with pytest.raises(UnknownAccountError):
            await gateway.get_assets(client_id=ZHANG.client_id, account_id=bad)
        with pytest.raises(UnknownAccountError):
            await gateway.get_personal_info(client_id=bad)
        assert sum(sandbox.requests.values()) == 0


class TestLoopback:
    @pytest.mark.slow
    async def test_real_http_binding_and_read(self, broker_clock: FakeClock) -> None:
        app = make_sandbox(broker_clock)
        async with loopback(app) as base, httpx.AsyncClient(base_url=base) as real_http:
            settings = make_settings(brokerage_api_base_url=base)
            gw = create_brokerage_gateway(settings, real_http)  # a configured counter: aiohttp
            try:
                key = await gw.get_public_key()
                account = ZHANG.accounts[0]
                await gw.send_sms_code(account_no=account.account_no)
                code = sandbox_of(app).outbox.latest_code(ZHANG.phone)
                assert code is not None
                holder = await gw.verify_credentials(
                    account_no=account.account_no,
                    encrypted_password=encrypt_password(key.pem, account.password),
                    sms_code=code,
                )
                rows = await gw.get_positions(
                    client_id=holder.client_id, account_id=holder.verified_account.account_id
                )
                assert len(rows) == 4
            finally:
                await gw.aclose()
