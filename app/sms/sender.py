"""The SmsSender Protocol: text a one-time code to a mainland mobile phone."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Protocol

from app.sms.errors import InvalidPhoneError

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
OTP_TEMPLATE_ID = "otp"


class SmsPurpose(StrEnum):
    BIND = "bind"
    UNBIND = "unbind"
    VERIFY = "verify"


def check_phone(phone: str) -> str:
    """The phone if it is an 11-digit mainland mobile number, else InvalidPhoneError."""
    if not MOBILE_RE.fullmatch(phone):
        raise InvalidPhoneError("not a mainland mobile number")
    return phone


class SmsSender(Protocol):
    """Sends one-time codes. Implementations: HttpSmsSender (provider), SandboxSmsSender."""

    async def send_code(
        self, *, phone: str, code: str, purpose: SmsPurpose, ttl_minutes: int = 5
    ) -> str:
        """Send the "otp" template; returns the provider's message id.

        Raises InvalidPhoneError, SmsRateLimitedError, SmsUnavailableError, SmsConfigurationError.
        """
        ...
