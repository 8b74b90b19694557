"""Errors of the SMS adapter; callers never see httpx exceptions."""

from __future__ import annotations

from typing import ClassVar


class SmsError(Exception):
    """Base of every SMS failure. `code` is the provider API's error code."""

    code: ClassVar[str] = "error"
    retryable: ClassVar[bool] = False


class InvalidPhoneError(SmsError):
    """Not a mainland mobile number (or the provider refused it)."""

    code = "invalid_phone"


class SmsRateLimitedError(SmsError):
    """The provider throttles this phone or our account (anti SMS-bombing on their side)."""

    code = "rate_limited"
    retryable = True

    def __init__(self, message: str = "", *, retry_after_s: int | None = None) -> None:
        super().__init__(message or "SMS rate limited")
        self.retry_after_s = retry_after_s


class SmsUnavailableError(SmsError):
    """Timeout, connection error, 5xx, or an answer off contract."""

    code = "unavailable"
    retryable = True


class SmsConfigurationError(SmsError):
    """The provider refused our key or sign name: fix SMS_API_KEY / SMS_SIGN_NAME."""

    code = "unauthorized"
