"""SandboxSmsSender and SmsOutbox: texts that never leave the process, kept for people and tests.

The sandbox counter (`/_sim/broker`) shares one outbox for its own SMS codes and for its copy of
the provider API, and shows it at `GET /_sim/broker/_admin/sms/{phone}`.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from app.core.time import Clock, SystemClock
from app.sms.errors import SmsError
from app.sms.sender import SmsPurpose, check_phone
from app.sms.texts import render_otp

KEEP_PER_PHONE = 10


@dataclass(frozen=True, slots=True)
class SmsRecord:
    message_id: str
    phone: str
    code: str
    purpose: str
    text: str
    sent_at: datetime
    channel: str  # "counter" (the broker's own code) or "api" (our SmsSender)


class SmsOutbox:
    """The last few messages per phone, newest last. One event loop: no locking needed."""

    def __init__(self, *, clock: Clock | None = None, keep: int = KEEP_PER_PHONE) -> None:
        self._clock = clock or SystemClock()
        self._keep = keep
        self._by_phone: dict[str, deque[SmsRecord]] = {}
        self._ids = itertools.count(1)

    def record(self, *, phone: str, code: str, purpose: str, text: str, channel: str) -> SmsRecord:
        record = SmsRecord(
            message_id=f"sms-{next(self._ids):08d}",
            phone=phone,
            code=code,
            purpose=purpose,
            text=text,
            sent_at=self._clock.now(),
            channel=channel,
        )
        self._by_phone.setdefault(phone, deque(maxlen=self._keep)).append(record)
        return record

    def messages(self, phone: str) -> list[SmsRecord]:
        return list(self._by_phone.get(phone, ()))

    def latest(self, phone: str) -> SmsRecord | None:
        found = self._by_phone.get(phone)
        return found[-1] if found else None

    def latest_code(self, phone: str) -> str | None:
        record = self.latest(phone)
        return record.code if record else None

    def phones(self) -> list[str]:
        return sorted(self._by_phone)

    def clear(self) -> None:
        self._by_phone.clear()


class SandboxSmsSender:
    """`SmsSender` that records into an outbox instead of texting anyone.

    `fail_with = SmsRateLimitedError()` (any SmsError) makes every send raise it.
    """

    def __init__(self, outbox: SmsOutbox | None = None, *, sign_name: str = "示例证券") -> None:
        self.outbox = outbox or SmsOutbox()
        self.sign_name = sign_name
        self.fail_with: SmsError | None = None

    async def send_code(
        self, *, phone: str, code: str, purpose: SmsPurpose, ttl_minutes: int = 5
    ) -> str:
        check_phone(phone)
        if self.fail_with is not None:
            raise self.fail_with
        text = render_otp(sign=self.sign_name, code=code, purpose=purpose, ttl_minutes=ttl_minutes)
        record = self.outbox.record(
            phone=phone, code=code, purpose=str(purpose), text=text, channel="api"
        )
        return record.message_id
