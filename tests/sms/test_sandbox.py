"""SandboxSmsSender and SmsOutbox: recorded texts for people and tests."""

from __future__ import annotations

import pytest

from app.core.time import FakeClock
from app.sms.errors import InvalidPhoneError, SmsRateLimitedError
from app.sms.sandbox import SandboxSmsSender, SmsOutbox
from app.sms.sender import SmsPurpose


class TestSandboxSmsSender:
    async def test_records_the_latest_code_per_phone(self) -> None:
        sender = SandboxSmsSender(SmsOutbox(clock=FakeClock()))
        await sender.send_code(phone="13800000001", code="123456", purpose=SmsPurpose.BIND)
        await sender.send_code(phone="13800000001", code="654321", purpose=SmsPurpose.UNBIND)
        await sender.send_code(phone="13800000002", code="111111", purpose=SmsPurpose.BIND)
        assert sender.outbox.latest_code("13800000001") == "654321"
        assert "解除账户绑定" in sender.outbox.messages("13800000001")[-1].text
        assert sender.outbox.phones() == ["13800000001", "13800000002"]

    async def test_keeps_a_bounded_history(self) -> None:
        outbox = SmsOutbox(keep=3)
        sender = SandboxSmsSender(outbox)
        for i in range(5):
            await sender.send_code(phone="13800000001", code=f"{i:06d}", purpose=SmsPurpose.BIND)
        assert [r.code for r in outbox.messages("13800000001")] == ["000002", "000003", "000004"]

    async def test_fail_with_and_phone_check(self) -> None:
        sender = SandboxSmsSender()
        with pytest.raises(InvalidPhoneError):
            await sender.send_code(phone="+8613800000001", code="1", purpose=SmsPurpose.BIND)
        sender.fail_with = SmsRateLimitedError(retry_after_s=30)
        with pytest.raises(SmsRateLimitedError):
            await sender.send_code(phone="13800000001", code="1", purpose=SmsPurpose.BIND)
        assert sender.outbox.latest("13800000001") is None
