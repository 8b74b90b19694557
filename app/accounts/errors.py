"""Domain errors of the binding feature.

Exception messages are English (logs); `detail`, which the H5 API returns in the problem body
and the page shows as is, is the fan-facing Chinese text from texts.py.
"""

from __future__ import annotations

from datetime import datetime

from app.accounts import texts
from app.core.errors import (
    AppError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from app.core.time import BEIJING


def _fan_error(exc: AppError, fan_text: str) -> None:
    exc.detail = fan_text


def wait_text(seconds: int) -> str:
    """`45秒` / `3分钟` / `2小时`: how long a fan should wait, rounded up."""
    if seconds < 60:
        return f"{max(1, seconds)}秒"
    if seconds < 3600:
        return f"{-(-seconds // 60)}分钟"
    return f"{-(-seconds // 3600)}小时"


class ConsentRequiredError(Invalid):
    code = "accounts.consent_required"

    def __init__(self) -> None:
        super().__init__("privacy notice and financial consent must both be accepted")
        _fan_error(self, texts.CONSENT_REQUIRED)


class ConsentOutdatedError(Conflict):
    code = "accounts.consent_outdated"

    def __init__(self) -> None:
        super().__init__("the fan agreed to an older notice version")
        _fan_error(self, texts.CONSENT_OUTDATED)


class BadCredentialsError(Unauthorized):
    code = "accounts.bad_credentials"

    def __init__(self, attempts_left: int | None = None) -> None:
        super().__init__("the counter refused the account number or password")
        self.attempts_left = attempts_left
        if attempts_left is not None:
            _fan_error(self, texts.BAD_CREDENTIALS_LEFT.format(left=attempts_left))
        else:
            _fan_error(self, texts.BAD_CREDENTIALS)


class PasswordUndecryptableError(Invalid):
    code = "accounts.password_undecryptable"

    def __init__(self) -> None:
        super().__init__("the counter could not decrypt the password (stale key?)")
        _fan_error(self, texts.PASSWORD_UNDECRYPTABLE)


class BadSmsCodeError(Unauthorized):
    code = "accounts.bad_sms_code"

    def __init__(self) -> None:
        super().__init__("the counter refused the SMS code")
        _fan_error(self, texts.BAD_SMS_CODE)


class AccountLockedError(Forbidden):
    code = "accounts.locked"

    def __init__(self, locked_until: datetime | None = None, *, ours_s: int | None = None) -> None:
        super().__init__("the account is locked")
        self.locked_until = locked_until
        if ours_s is not None:
            _fan_error(self, texts.ACCOUNT_FAILURE_LOCKED.format(minutes=-(-ours_s // 60)))
        elif locked_until is not None:
            until = locked_until.astimezone(BEIJING).strftime("%H:%M")
            _fan_error(self, texts.ACCOUNT_LOCKED.format(until=until))
        else:
            _fan_error(self, texts.ACCOUNT_LOCKED_BRANCH)


class RateLimitedError(TooManyRequests):
    code = "accounts.rate_limited"

    def __init__(self, limit_name: str, retry_after_s: int) -> None:
        super().__init__(f"rate limit {limit_name} reached")
        self.limit_name = limit_name
        self.retry_after_s = retry_after_s
        _fan_error(self, texts.RATE_LIMITED.format(wait=wait_text(retry_after_s)))


class CounterMaintenanceError(Unavailable):
    code = "accounts.maintenance"

    def __init__(self, window_end: datetime | None = None) -> None:
        super().__init__("the counter is in maintenance")
        if window_end is not None:
            until = window_end.astimezone(BEIJING).strftime("%H:%M")
            _fan_error(self, texts.MAINTENANCE_UNTIL.format(until=until))
        else:
            _fan_error(self, texts.MAINTENANCE)


class CounterUnavailableError(Unavailable):
    code = "accounts.unavailable"

    def __init__(self) -> None:
        super().__init__("the counter is unavailable")
        _fan_error(self, texts.UNAVAILABLE)


class AlreadyBoundError(Conflict):
    code = "accounts.already_bound"

    def __init__(self) -> None:
        super().__init__("this fan already has an active binding to the account")
        _fan_error(self, texts.ALREADY_BOUND)


class BoundElsewhereError(Conflict):
    code = "accounts.bound_elsewhere"

    def __init__(self) -> None:
        super().__init__("the account is actively bound to another fan")
        _fan_error(self, texts.BOUND_ELSEWHERE)


class TooManyBindingsError(Conflict):
    code = "accounts.too_many_bindings"

    def __init__(self, limit: int) -> None:
        super().__init__(f"a fan may bind at most {limit} accounts")
        _fan_error(self, texts.TOO_MANY_BINDINGS.format(limit=limit))


class BindingNotFoundError(NotFound):
    code = "accounts.binding_not_found"

    def __init__(self) -> None:
        super().__init__("no such active binding for this fan")
        _fan_error(self, texts.BINDING_NOT_FOUND)


class SessionRequiredError(Unauthorized):
    code = "accounts.session_required"

    def __init__(self) -> None:
        super().__init__("missing, forged or expired H5 session")
        _fan_error(self, texts.SESSION_REQUIRED)


class CsrfError(Forbidden):
    code = "accounts.csrf"

    def __init__(self) -> None:
        super().__init__("missing or wrong CSRF token")
        _fan_error(self, texts.CSRF_FAILED)


class OAuthError(Forbidden):
    code = "accounts.oauth_failed"

    def __init__(self, reason: str) -> None:
        super().__init__(f"OAuth callback refused: {reason}")
        self.reason = reason
        _fan_error(self, texts.OAUTH_FAILED)
