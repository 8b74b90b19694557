"""HttpSmsSender against the sandbox's copy of the provider API; codes show on the admin page."""

from __future__ import annotations

import httpx
import pytest

from app.core.time import FakeClock
from app.sms.client import HttpSmsSender, create_sms_sender
from app.sms.errors import (
    InvalidPhoneError,
    SmsConfigurationError,
    SmsRateLimitedError,
    SmsUnavailableError,
)
from app.sms.sender import SmsPurpose
from tests.brokerage.sandbox_helpers import BASE, TRADING_NOW, http_to, make_sandbox, sandbox_of
from tests.conftest import make_settings

PHONE = "13912345678"


def _sender(http: httpx.AsyncClient, *, api_key: str = "", timeout_s: float = 3.0) -> HttpSmsSender:
    return HttpSmsSender(
        http, base_url=f"{BASE}/sms", api_key=api_key, sign_name="示例证券", timeout_s=timeout_s
    )


class TestHttpSmsSender:
    async def test_code_is_delivered_and_visible_on_the_admin_page(self) -> None:
        async with http_to(make_sandbox()) as http:
            message_id = await _sender(http).send_code(
                phone=PHONE, code="802311", purpose=SmsPurpose.BIND
            )
            page = (await http.get(f"{BASE}/_admin/sms/{PHONE}")).json()
        assert page["latest"]["message_id"] == message_id
        assert page["latest"]["code"] == "802311"
        assert "绑定证券账户" in page["latest"]["text"]
        assert page["latest"]["text"].startswith("【示例证券】")

    async def test_second_message_within_a_minute_is_rate_limited(self) -> None:
        clock = FakeClock(TRADING_NOW)
        async with http_to(make_sandbox(clock)) as http:
            sender = _sender(http)
            await sender.send_code(phone=PHONE, code="111111", purpose=SmsPurpose.BIND)
            with pytest.raises(SmsRateLimitedError) as info:
                await sender.send_code(phone=PHONE, code="222222", purpose=SmsPurpose.BIND)
            assert info.value.retry_after_s == 60
            clock.advance(60)
            await sender.send_code(phone=PHONE, code="333333", purpose=SmsPurpose.BIND)

    async def test_invalid_phone_is_refused_before_sending(self) -> None:
        app = make_sandbox()
        async with http_to(app) as http:
            with pytest.raises(InvalidPhoneError):
                await _sender(http).send_code(phone="12345", code="1", purpose=SmsPurpose.BIND)
        assert sandbox_of(app).requests["sms_send"] == 0

    async def test_wrong_key(self) -> None:
        async with http_to(make_sandbox(sms_api_key="k1")) as http:
            with pytest.raises(SmsConfigurationError):
                await _sender(http, api_key="k2").send_code(
                    phone=PHONE, code="1", purpose=SmsPurpose.BIND
                )
            await _sender(http, api_key="k1").send_code(
                phone=PHONE, code="1", purpose=SmsPurpose.BIND
            )

    @pytest.mark.parametrize(
        "fault", [{"http_status": 503}, {"garbage": True}, {"error_code": "unavailable"}]
    )
    async def test_provider_failures_are_unavailable(self, fault: dict[str, object]) -> None:
        async with http_to(make_sandbox()) as http:
            await http.post(f"{BASE}/_admin/faults", json={"op": "sms_send", **fault})
            with pytest.raises(SmsUnavailableError):
                await _sender(http).send_code(phone=PHONE, code="1", purpose=SmsPurpose.BIND)

    async def test_timeout_is_unavailable(self) -> None:
        async with http_to(make_sandbox()) as http:
            await http.post(f"{BASE}/_admin/faults", json={"op": "sms_send", "timeout": True})
            with pytest.raises(SmsUnavailableError):
                await _sender(http, timeout_s=0.05).send_code(
                    phone=PHONE, code="1", purpose=SmsPurpose.BIND
                )

    async def test_factory_points_at_the_sandbox_in_dev(self) -> None:
        async with httpx.AsyncClient() as http:
            sender = create_sms_sender(make_settings(), http)
            assert sender._url == "http://testserver/_sim/broker/sms/v1/messages"
            configured = make_settings(sms_api_base_url="https://sms.example.com/api/")
            assert create_sms_sender(configured, http)._url == (
                "https://sms.example.com/api/v1/messages"
            )
