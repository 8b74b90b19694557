"""Domain errors of the brokerage counter, one class per error code of docs/brokerage-api.yaml.

Callers never see httpx exceptions: every failure of `HttpBrokerageGateway` is one of these.
Each class carries the contract's `code` so the sandbox can answer with it and the client can
map it back (`error_from_code`). Messages are English (logs); fan-facing wording lives in the
features' texts.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar


class BrokerageError(Exception):
    """Base of every counter failure. `code` is the contract's error code."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400
    #: True when the same call may succeed later without the fan changing anything.
    retryable: ClassVar[bool] = False

    def __init__(self, message: str = "") -> None:
        super().__init__(message or self.code)
        self.message = message or self.code


class MaintenanceError(BrokerageError):
    """The counter is in its nightly maintenance window (or forced into it)."""

    code = "maintenance"
    http_status = 503
    retryable = True

    def __init__(self, message: str = "", *, window_end: datetime | None = None) -> None:
        super().__init__(message or "counter in maintenance")
        self.window_end = window_end


class UnavailableError(BrokerageError):
    """The counter is down, timed out, answered 5xx, or could not be reached."""

    code = "unavailable"
    http_status = 503
    retryable = True


class InvalidResponseError(UnavailableError):
    """The counter answered something that does not follow the contract (treated as down)."""

    code = "invalid_response"
    http_status = 502


class InvalidCredentialsError(BrokerageError):
    """Wrong password. `attempts_left` counts down to the lockout when the counter says so."""

    code = "invalid_credentials"
    http_status = 401

    def __init__(self, message: str = "", *, attempts_left: int | None = None) -> None:
        super().__init__(message or "wrong account number or password")
        self.attempts_left = attempts_left


class PasswordDecryptError(InvalidCredentialsError):
    """The encrypted password could not be decrypted (stale public key, bad padding or base64).

    Does not count towards the lockout: the page should fetch the key again and retry.
    """

    code = "password_undecryptable"
    http_status = 400


class InvalidSmsCodeError(BrokerageError):
    """The SMS code is wrong, expired, already used, or was never requested."""

    code = "invalid_sms_code"
    http_status = 401


class AccountLockedError(BrokerageError):
    """Too many wrong passwords: the counter refuses this account until `locked_until`."""

    code = "account_locked"
    http_status = 423

    def __init__(self, message: str = "", *, locked_until: datetime | None = None) -> None:
        super().__init__(message or "account locked after too many wrong passwords")
        self.locked_until = locked_until


class UnknownAccountError(BrokerageError):
    """No such account number, client or account reference (or it is not the client's)."""

    code = "unknown_account"
    http_status = 404


class RateLimitedError(BrokerageError):
    """The counter throttles this caller or account (e.g. SMS resend interval)."""

    code = "rate_limited"
    http_status = 429
    retryable = True

    def __init__(self, message: str = "", *, retry_after_s: int | None = None) -> None:
        super().__init__(message or "too many requests")
        self.retry_after_s = retry_after_s


class InvalidRequestError(BrokerageError):
    """The counter rejected the request as malformed (a bug on our side, not the fan's)."""

    code = "invalid_request"
    http_status = 400


class ChannelAuthError(BrokerageError):
    """The counter refused our channel credentials (BROKERAGE_API_KEY): a configuration error."""

    code = "unauthorized_channel"
    http_status = 401


ERRORS_BY_CODE: dict[str, type[BrokerageError]] = {
    cls.code: cls
    for cls in (
        MaintenanceError,
        UnavailableError,
        InvalidResponseError,
        InvalidCredentialsError,
        PasswordDecryptError,
        InvalidSmsCodeError,
        AccountLockedError,
        UnknownAccountError,
        RateLimitedError,
        InvalidRequestError,
        ChannelAuthError,
    )
}
