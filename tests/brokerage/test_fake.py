"""InMemoryBrokerageGateway: counter rules (lockout, SMS code, maintenance), magic values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from app.brokerage.demo_data import CUSTOMERS
from app.brokerage.errors import (
    AccountLockedError,
    InvalidCredentialsError,
    InvalidRequestError,
    InvalidSmsCodeError,
    MaintenanceError,
    UnavailableError,
    UnknownAccountError,
)
from app.brokerage.fake import InMemoryBrokerageGateway, MaintenanceWindow, random_sms_code
from app.brokerage.password import encrypt_password
from app.core.time import FakeClock

ZHANG, LI, WANG, LIU = CUSTOMERS
CASH = ZHANG.accounts[0]


async def _attempt(fake: InMemoryBrokerageGateway, password: str, code: str) -> object:
    key = await fake.get_public_key()
    return await fake.verify_credentials(
        account_no=CASH.account_no,
        encrypted_password=encrypt_password(key.pem, password),
        sms_code=code,
    )


class TestSmsCode:
    async def test_code_reaches_the_phone_on_record(self, fake: InMemoryBrokerageGateway) -> None:
        texted: list[tuple[str, str]] = []
        fake.on_sms_code = lambda phone, code: texted.append((phone, code))
        await fake.send_sms_code(account_no=CASH.account_no)
        assert texted == [(ZHANG.phone, "246135")]
        assert fake.sms_codes[ZHANG.phone] == "246135"

    async def test_code_expires(
        self, fake: InMemoryBrokerageGateway, broker_clock: FakeClock
    ) -> None:
        await fake.send_sms_code(account_no=CASH.account_no)
        broker_clock.advance(301)
        with pytest.raises(InvalidSmsCodeError):
            await _attempt(fake, CASH.password, "246135")

    async def test_magic_wrong_code(self, broker_clock: FakeClock) -> None:
        fake = InMemoryBrokerageGateway(clock=broker_clock, code_factory=lambda: "000000")
        await fake.send_sms_code(account_no=CASH.account_no)
        with pytest.raises(InvalidSmsCodeError):
            await _attempt(fake, CASH.password, "000000")

    async def test_code_burns_after_five_wrong_guesses(
        self, fake: InMemoryBrokerageGateway
    ) -> None:
        await fake.send_sms_code(account_no=CASH.account_no)
        for _ in range(5):
            with pytest.raises(InvalidSmsCodeError):
                await _attempt(fake, CASH.password, "111111")
        with pytest.raises(InvalidSmsCodeError):
            await _attempt(fake, CASH.password, "246135")

    async def test_resend_allowed_after_interval(
        self, fake: InMemoryBrokerageGateway, broker_clock: FakeClock
    ) -> None:
        await fake.send_sms_code(account_no=CASH.account_no)
        broker_clock.advance(60)
        challenge = await fake.send_sms_code(account_no=CASH.account_no)
        assert challenge.phone_masked == "138****0001"

    def test_random_codes_never_use_the_magic_value(self) -> None:
        codes = {random_sms_code() for _ in range(200)}
        assert all(len(c) == 6 and c.isdigit() and c != "000000" for c in codes)


class TestLockout:
    async def test_lock_expires_after_lockout_period(
        self, fake: InMemoryBrokerageGateway, broker_clock: FakeClock
    ) -> None:
        for _ in range(4):
            with pytest.raises(InvalidCredentialsError):
                await _attempt(fake, "999999", "246135")
        with pytest.raises(AccountLockedError):
            await _attempt(fake, "999999", "246135")
        broker_clock.advance(1801)
        await fake.send_sms_code(account_no=CASH.account_no)
        holder = await _attempt(fake, CASH.password, "246135")
        assert holder is not None

    async def test_success_resets_the_failure_count(self, fake: InMemoryBrokerageGateway) -> None:
        for _ in range(3):
            with pytest.raises(InvalidCredentialsError):
                await _attempt(fake, "999999", "246135")
        await fake.send_sms_code(account_no=CASH.account_no)
        await _attempt(fake, CASH.password, "246135")
        with pytest.raises(InvalidCredentialsError) as info:
            await _attempt(fake, "999999", "246135")
        assert info.value.attempts_left == 4


class TestKnobs:
    async def test_timeout_prefix(self, fake: InMemoryBrokerageGateway) -> None:
        with pytest.raises(UnavailableError):
            await fake.send_sms_code(account_no="999900001111")

    async def test_fail_with_and_calls(self, fake: InMemoryBrokerageGateway) -> None:
        fake.fail_with = UnavailableError("down")
        with pytest.raises(UnavailableError):
            await fake.get_personal_info(client_id=ZHANG.client_id)
        fake.fail_with = None
        await fake.get_personal_info(client_id=ZHANG.client_id)
        assert fake.calls["get_personal_info"] == 2

    async def test_forced_maintenance_overrides_the_clock(
        self, fake: InMemoryBrokerageGateway
    ) -> None:
        fake.forced_maintenance = True
        with pytest.raises(MaintenanceError) as info:
            await fake.list_accounts(client_id=ZHANG.client_id)
        assert info.value.window_end is None

    async def test_unknown_client(self, fake: InMemoryBrokerageGateway) -> None:
        with pytest.raises(UnknownAccountError):
            await fake.get_personal_info(client_id="CNOBODY")

    async def test_calendar_rejects_reversed_range(self, fake: InMemoryBrokerageGateway) -> None:
        with pytest.raises(InvalidRequestError):
            await fake.get_trading_calendar(start=date(2026, 2, 1), end=date(2026, 1, 1))


class TestMaintenanceWindow:
    @pytest.mark.parametrize(
        ("utc_hour", "utc_minute", "inside"),
        [(15, 29, False), (15, 30, True), (16, 0, True), (16, 29, True), (16, 30, False)],
    )
    def test_window_wraps_midnight(self, utc_hour: int, utc_minute: int, inside: bool) -> None:
        window = MaintenanceWindow.parse("23:30-00:30")
        now = datetime(2026, 1, 7, utc_hour, utc_minute, tzinfo=UTC)
        assert window.contains(now) is inside

    def test_same_day_window(self) -> None:
        window = MaintenanceWindow.parse(" 02:00 - 03:00 ")
        assert window == MaintenanceWindow(time(2), time(3))
        assert window.contains(datetime(2026, 1, 7, 18, 30, tzinfo=UTC))

    def test_garbage_is_refused(self) -> None:
        with pytest.raises(ValueError):
            MaintenanceWindow.parse("nightly")
