"""State and knobs of the sandbox counter: config, latency, injected faults, the SMS outbox."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from app.brokerage.errors import ERRORS_BY_CODE
from app.brokerage.fake import InMemoryBrokerageGateway, MaintenanceWindow, random_sms_code
from app.brokerage.password import PasswordKeyPair
from app.core.config import Settings
from app.core.time import Clock, SystemClock
from app.sms.sandbox import SmsOutbox
from app.sms.sender import SmsPurpose
from app.sms.texts import render_otp

Sleep = Callable[[float], Awaitable[None]]
SMS_PROVIDER_INTERVAL = timedelta(seconds=60)  # providers allow about one message a minute


@dataclass
class BrokerSandboxConfig:
    """What one sandbox counter instance is configured with."""

    #: Checked as X-Api-Key when not empty (BROKERAGE_API_KEY of the app must match).
    api_key: str = ""
    #: Bearer key of the sandbox SMS provider API; checked when not empty.
    sms_api_key: str = ""
    sign_name: str = "示例证券"
    maintenance_window: str = "23:30-00:30"
    lockout_threshold: int = 5
    lockout_s: int = 1800
    sms_code_ttl_s: int = 300
    sms_resend_s: int = 60
    #: PEM of a fixed RSA private key; None: a fresh key pair per process.
    private_key_pem: str | None = None
    #: Upper bound of an injected hang, so a forgotten timeout fault never blocks forever.
    max_hang_s: float = 120.0
    seed: int | None = None
    code_factory: Callable[[], str] = random_sms_code
    clock: Clock = field(default_factory=SystemClock)
    sleep: Sleep = asyncio.sleep

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: object) -> BrokerSandboxConfig:
        """Keys and window from settings so the app's own clients are accepted."""
        values: dict[str, object] = {
            "api_key": settings.brokerage_api_key.get_secret_value(),
            "sms_api_key": settings.sms_api_key.get_secret_value(),
            "sign_name": settings.sms_sign_name,
            "maintenance_window": settings.brokerage_sandbox_maintenance_window,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


class FaultSpec(BaseModel):
    """`POST /_admin/faults`: what to do to matching calls.

    `op` is "*" or an operation name (public_key, sms_code, verify, personal_info, accounts,
    assets, liabilities, positions, pnl, orders, fund_flows, ipo_subscriptions, calendar,
    sms_send). Exactly one effect: `error_code` (a contract error), `http_status` (a bare
    status with a non-JSON body), `timeout` (hang), or `garbage` (200 with an off-contract body).
    """

    op: str = "*"
    error_code: str | None = None
    http_status: int | None = Field(default=None, ge=400, le=599)
    timeout: bool = False
    garbage: bool = False
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1)

    def effects(self) -> int:
        return sum(
            (self.error_code is not None, self.http_status is not None, self.timeout, self.garbage)
        )

    def is_valid(self) -> bool:
        known = self.error_code is None or self.error_code in ERRORS_BY_CODE
        return known and self.effects() == 1


class LatencySpec(BaseModel):
    fixed_ms: float = Field(default=0.0, ge=0, le=60_000)
    jitter_ms: float = Field(default=0.0, ge=0, le=60_000)


class MaintenanceSpec(BaseModel):
    mode: Literal["on", "off", "auto"]


@dataclass
class _ActiveFault:
    spec: FaultSpec
    remaining: int | None


class BrokerSandbox:
    """One counter: the in-memory gateway plus HTTP-level knobs. Reset keeps the RSA key."""

    def __init__(self, config: BrokerSandboxConfig, outbox: SmsOutbox | None = None) -> None:
        self.config = config
        self.outbox = outbox or SmsOutbox(clock=config.clock)
        self.window = MaintenanceWindow.parse(config.maintenance_window)
        # None: the process's key pair, made on first use and kept across resets.
        self.keypair = (
            PasswordKeyPair.from_pem(config.private_key_pem) if config.private_key_pem else None
        )
        self.rng = random.Random(config.seed)  # fault dice, not security
        self.reset()

    def reset(self) -> None:
        self.gateway = InMemoryBrokerageGateway(
            clock=self.config.clock,
            keypair=self.keypair,
            maintenance_window=self.window,
            lockout_threshold=self.config.lockout_threshold,
            lockout_s=self.config.lockout_s,
            sms_code_ttl_s=self.config.sms_code_ttl_s,
            sms_resend_s=self.config.sms_resend_s,
            code_factory=self.config.code_factory,
            on_sms_code=self._counter_sms,
        )
        self.outbox.clear()
        self.latency = LatencySpec()
        self.faults: list[_ActiveFault] = []
        self.faults_fired: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()
        self._last_provider_sms: dict[str, datetime] = {}

    def _counter_sms(self, phone: str, code: str) -> None:
        ttl = max(1, self.config.sms_code_ttl_s // 60)
        text = render_otp(sign=self.config.sign_name, code=code, purpose="bind", ttl_minutes=ttl)
        self.outbox.record(
            phone=phone, code=code, purpose=SmsPurpose.BIND, text=text, channel="counter"
        )

    def set_maintenance(self, mode: str) -> None:
        self.gateway.forced_maintenance = {"on": True, "off": False}.get(mode)

    def add_fault(self, spec: FaultSpec) -> None:
        self.faults.append(_ActiveFault(spec, spec.count))

    def pick_fault(self, op: str) -> FaultSpec | None:
        """The first matching fault that fires this time (count and rate applied)."""
        for fault in self.faults:
            if fault.spec.op not in ("*", op) or fault.remaining == 0:
                continue
            if fault.spec.rate < 1.0 and self.rng.random() >= fault.spec.rate:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            self.faults_fired[op] += 1
            return fault.spec
        return None

    def latency_s(self) -> float:
        jitter = self.rng.uniform(0, self.latency.jitter_ms) if self.latency.jitter_ms else 0.0
        return (self.latency.fixed_ms + jitter) / 1000

    def provider_throttle_s(self, phone: str) -> int:
        """Seconds until the sandbox SMS provider accepts another message to `phone`; 0 now."""
        now = self.config.clock.now()
        last = self._last_provider_sms.get(phone)
        if last is not None and last + SMS_PROVIDER_INTERVAL > now:
            return max(1, int((last + SMS_PROVIDER_INTERVAL - now).total_seconds()))
        self._last_provider_sms[phone] = now
        return 0
