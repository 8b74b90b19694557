"""InMemoryBrokerageGateway: the counter's rules over the demo customers, without HTTP.

Service tests use it directly; the sandbox counter (app/simulator/broker.py) serves it over the
HTTP contract, so both behave the same. Customers and passwords: app/brokerage/demo_data.py.

Magic values and knobs:
- account_no starting with "9999": UnavailableError (as if the counter timed out).
- SMS code "000000" is always wrong; `code_factory` fixes the codes the fake sends.
- `forced_maintenance = True/False` overrides the nightly window (None: follow the clock).
- `fail_with = SomeBrokerageError(...)`: every call raises it until reset to None.
- `calls` counts calls per method (for cache tests); `sms_codes` holds the latest code per phone.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from app.brokerage import demo_data
from app.brokerage.errors import (
    AccountLockedError,
    BrokerageError,
    InvalidCredentialsError,
    InvalidRequestError,
    InvalidSmsCodeError,
    MaintenanceError,
    PasswordDecryptError,
    RateLimitedError,
    UnavailableError,
    UnknownAccountError,
)
from app.brokerage.gateway import (
    Assets,
    BrokerageAccount,
    FundFlow,
    Holder,
    HoldingPnl,
    IpoSubscription,
    Liabilities,
    Order,
    PersonalInfo,
    Position,
    PublicKey,
    SmsChallenge,
)
from app.brokerage.password import PasswordCipherError, PasswordKeyPair, process_keypair
from app.brokerage.trading_calendar import TradingCalendar, demo_calendar
from app.core.security import constant_time_equals, mask_phone
from app.core.time import BEIJING, Clock, SystemClock

TIMEOUT_PREFIX = "9999"
WRONG_SMS_CODE = "000000"
MAX_SMS_ATTEMPTS = 5
MAX_CALENDAR_DAYS = 400
CALENDAR_MARGIN = timedelta(days=60)


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A nightly window in Beijing time; may wrap past midnight (23:30-00:30)."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str) -> MaintenanceWindow:
        """`"23:30-00:30"`; raises ValueError on anything else."""
        start, _, end = text.strip().partition("-")
        return cls(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))

    def contains(self, now: datetime) -> bool:
        t = now.astimezone(BEIJING).time()
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end

    def end_after(self, now: datetime) -> datetime:
        """The end of the window that contains `now` (aware, Beijing)."""
        local = now.astimezone(BEIJING)
        end = datetime.combine(local.date(), self.end, tzinfo=BEIJING)
        return end if end > local else end + timedelta(days=1)


DEFAULT_MAINTENANCE_WINDOW = MaintenanceWindow(time(23, 30), time(0, 30))


@dataclass(slots=True)
class _SmsState:
    code: str
    expires_at: datetime
    sent_at: datetime
    attempts: int = 0


def random_sms_code() -> str:
    """Six digits, never the magic wrong code."""
    return f"{secrets.randbelow(999_999) + 1:06d}"


class InMemoryBrokerageGateway:
    """Implements `BrokerageGateway` over `demo_data.CUSTOMERS` (see module docstring)."""

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        keypair: PasswordKeyPair | None = None,
        maintenance_window: MaintenanceWindow | None = DEFAULT_MAINTENANCE_WINDOW,
        lockout_threshold: int = 5,
        lockout_s: int = 1800,
        sms_code_ttl_s: int = 300,
        sms_resend_s: int = 60,
        code_factory: Callable[[], str] = random_sms_code,
        on_sms_code: Callable[[str, str], None] | None = None,
    ) -> None:
        self.clock = clock or SystemClock()
        self._keypair = keypair
        self.maintenance_window = maintenance_window
        self.lockout_threshold = lockout_threshold
        self.lockout = timedelta(seconds=lockout_s)
        self.sms_ttl = timedelta(seconds=sms_code_ttl_s)
        self.sms_resend = timedelta(seconds=sms_resend_s)
        self.code_factory = code_factory
        self.on_sms_code = on_sms_code
        self.forced_maintenance: bool | None = None
        self.fail_with: BrokerageError | None = None
        self.calls: Counter[str] = Counter()
        self.sms_codes: dict[str, str] = {}
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, datetime] = {}
        self._sms: dict[str, _SmsState] = {}

    @property
    def keypair(self) -> PasswordKeyPair:
        """The given key pair, else the process's own (generated on first use)."""
        return self._keypair or process_keypair()

    # -- rules shared by every call -------------------------------------------------------
    def _now(self) -> datetime:
        return self.clock.now().astimezone(BEIJING)

    def in_maintenance(self) -> bool:
        if self.forced_maintenance is not None:
            return self.forced_maintenance
        window = self.maintenance_window
        return window is not None and window.contains(self._now())

    def _guard(self, method: str, account_no: str | None = None) -> None:
        self.calls[method] += 1
        if self.fail_with is not None:
            raise self.fail_with
        if self.in_maintenance():
            window = self.maintenance_window
            end = window.end_after(self._now()) if window and not self.forced_maintenance else None
            raise MaintenanceError("counter in nightly maintenance", window_end=end)
        if account_no is not None and account_no.startswith(TIMEOUT_PREFIX):
            raise UnavailableError("counter timed out")

    def _calendar(self) -> TradingCalendar:
        today = self._now().date()
        return demo_calendar(today - CALENDAR_MARGIN, today + CALENDAR_MARGIN)

    def _find(self, account_no: str) -> tuple[demo_data.CustomerSpec, demo_data.AccountSpec]:
        found = demo_data.find_account(account_no)
        if found is None:
            raise UnknownAccountError("no such account number")
        return found

    def _check_not_locked(self, spec: demo_data.AccountSpec) -> None:
        if spec.locked:
            raise AccountLockedError("account locked, unlock at a branch")
        until = self._locked_until.get(spec.account_no)
        if until is not None and until > self._now():
            raise AccountLockedError(locked_until=until)

    # -- binding ----------------------------------------------------------------------------
    async def get_public_key(self) -> PublicKey:
        self._guard("get_public_key")
        return PublicKey(key_id=self.keypair.key_id, pem=self.keypair.public_pem)

    async def send_sms_code(self, *, account_no: str) -> SmsChallenge:
        self._guard("send_sms_code", account_no)
        customer, spec = self._find(account_no)
        self._check_not_locked(spec)
        now = self._now()
        previous = self._sms.get(account_no)
        if previous is not None and previous.sent_at + self.sms_resend > now:
            wait = (previous.sent_at + self.sms_resend - now).total_seconds()
            raise RateLimitedError("SMS resend interval", retry_after_s=max(1, int(wait)))
        code = self.code_factory()
        self._sms[account_no] = _SmsState(code, now + self.sms_ttl, now)
        self.sms_codes[customer.phone] = code
        if self.on_sms_code is not None:
            self.on_sms_code(customer.phone, code)
        return SmsChallenge(
            phone_masked=mask_phone(customer.phone),
            expires_at=now + self.sms_ttl,
            resend_after_s=int(self.sms_resend.total_seconds()),
        )

    async def verify_credentials(
        self, *, account_no: str, encrypted_password: str, sms_code: str
    ) -> Holder:
        self._guard("verify_credentials", account_no)
        customer, spec = self._find(account_no)
        self._check_not_locked(spec)
        try:
            password = self.keypair.decrypt(encrypted_password)
        except PasswordCipherError as exc:
            raise PasswordDecryptError("cannot decrypt the password; fetch the key again") from exc
        if not constant_time_equals(password, spec.password):
            self._count_failure(spec.account_no)
        self._failures.pop(spec.account_no, None)
        self._check_sms_code(account_no, sms_code)
        return Holder(
            client_id=customer.client_id,
            name=customer.name,
            phone=customer.phone,
            verified_account=demo_data.to_account(spec),
            accounts=tuple(demo_data.to_account(a) for a in customer.accounts),
        )

    def _count_failure(self, account_no: str) -> None:
        failures = self._failures.get(account_no, 0) + 1
        if failures >= self.lockout_threshold:
            self._failures.pop(account_no, None)
            until = self._now() + self.lockout
            self._locked_until[account_no] = until
            raise AccountLockedError(locked_until=until)
        self._failures[account_no] = failures
        raise InvalidCredentialsError(attempts_left=self.lockout_threshold - failures)

    def _check_sms_code(self, account_no: str, sms_code: str) -> None:
        state = self._sms.get(account_no)
        if state is None or state.expires_at <= self._now():
            self._sms.pop(account_no, None)
            raise InvalidSmsCodeError("SMS code expired or never requested")
        if sms_code == WRONG_SMS_CODE or not constant_time_equals(sms_code, state.code):
            state.attempts += 1
            if state.attempts >= MAX_SMS_ATTEMPTS:
                self._sms.pop(account_no, None)  # too many guesses: the code is burnt
            raise InvalidSmsCodeError("wrong SMS code")
        del self._sms[account_no]  # one-time

    # -- reads ------------------------------------------------------------------------------
    def _customer(self, method: str, client_id: str) -> demo_data.CustomerSpec:
        self._guard(method)
        customer = demo_data.find_customer(client_id)
        if customer is None:
            raise UnknownAccountError("no such client")
        return customer

    def _snapshot(self, method: str, client_id: str, account_id: str) -> demo_data.AccountSnapshot:
        customer = self._customer(method, client_id)
        spec = next((a for a in customer.accounts if a.account_id == account_id), None)
        if spec is None:
            raise UnknownAccountError("no such account for this client")
        return demo_data.snapshot(spec, self._now(), self._calendar())

    async def get_personal_info(self, *, client_id: str) -> PersonalInfo:
        customer = self._customer("get_personal_info", client_id)
        return demo_data.personal_info(customer, self._now().date())

    async def list_accounts(self, *, client_id: str) -> list[BrokerageAccount]:
        customer = self._customer("list_accounts", client_id)
        return [demo_data.to_account(a) for a in customer.accounts]

    async def get_assets(self, *, client_id: str, account_id: str) -> Assets:
        return self._snapshot("get_assets", client_id, account_id).assets

    async def get_liabilities(self, *, client_id: str, account_id: str) -> Liabilities:
        return self._snapshot("get_liabilities", client_id, account_id).liabilities

    async def get_positions(self, *, client_id: str, account_id: str) -> list[Position]:
        return list(self._snapshot("get_positions", client_id, account_id).positions)

    async def get_holding_pnl(self, *, client_id: str, account_id: str) -> HoldingPnl:
        return self._snapshot("get_holding_pnl", client_id, account_id).holding_pnl

    async def get_today_orders(self, *, client_id: str, account_id: str) -> list[Order]:
        return list(self._snapshot("get_today_orders", client_id, account_id).orders)

    async def get_today_fund_flows(self, *, client_id: str, account_id: str) -> list[FundFlow]:
        return list(self._snapshot("get_today_fund_flows", client_id, account_id).fund_flows)

    async def get_ipo_subscriptions(
        self, *, client_id: str, account_id: str
    ) -> list[IpoSubscription]:
        snap = self._snapshot("get_ipo_subscriptions", client_id, account_id)
        return list(snap.ipo_subscriptions)

    async def get_trading_calendar(self, *, start: date, end: date) -> TradingCalendar:
        self._guard("get_trading_calendar")
        if end < start or (end - start).days > MAX_CALENDAR_DAYS:
            raise InvalidRequestError(f"calendar range must be 0..{MAX_CALENDAR_DAYS} days")
        return demo_calendar(start, end)
