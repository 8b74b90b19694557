"""Wire shapes of the counter's JSON API (docs/brokerage-api.yaml) not covered by the domain models.

Success: `200 {"data": <domain model or list>}`. Failure: `4xx/5xx {"error": {"code", "message",
...details}}` where `code` is one of `app.brokerage.errors.ERRORS_BY_CODE`.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.brokerage.errors import (
    ERRORS_BY_CODE,
    AccountLockedError,
    BrokerageError,
    InvalidCredentialsError,
    MaintenanceError,
    RateLimitedError,
)

T = TypeVar("T")

AccountNo = Annotated[str, Field(pattern=r"^[0-9]{6,20}$")]

API_KEY_HEADER = "X-Api-Key"


class DataEnvelope(BaseModel, Generic[T]):
    model_config = ConfigDict(frozen=True)

    data: T


class SmsCodeRequest(BaseModel):
    account_no: AccountNo


class VerifyRequest(BaseModel):
    account_no: AccountNo
    encrypted_password: Annotated[str, Field(min_length=1, max_length=2048)]
    sms_code: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]


class ErrorBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    code: Annotated[str, Field(max_length=64)]
    message: Annotated[str, Field(max_length=500)] = ""
    attempts_left: Annotated[int, Field(ge=0)] | None = None
    locked_until: AwareDatetime | None = None
    retry_after_s: Annotated[int, Field(ge=0)] | None = None
    window_end: AwareDatetime | None = None


class ErrorEnvelope(BaseModel):
    model_config = ConfigDict(extra="ignore")

    error: ErrorBody


def error_body(exc: BrokerageError) -> ErrorBody:
    """What the counter answers for `exc` (the sandbox uses it)."""
    body = ErrorBody(code=exc.code, message=exc.message)
    if isinstance(exc, InvalidCredentialsError):
        body.attempts_left = exc.attempts_left
    if isinstance(exc, AccountLockedError):
        body.locked_until = exc.locked_until
    if isinstance(exc, RateLimitedError):
        body.retry_after_s = exc.retry_after_s
    if isinstance(exc, MaintenanceError):
        body.window_end = exc.window_end
    return body


def error_from_body(body: ErrorBody) -> BrokerageError:
    """The domain error for a counter error body; unknown codes become the base class."""
    cls = ERRORS_BY_CODE.get(body.code)
    message = body.message or body.code
    if cls is None:
        return BrokerageError(f"counter error {body.code[:64]}: {message}")
    if issubclass(cls, InvalidCredentialsError):
        return cls(message, attempts_left=body.attempts_left)
    if cls is AccountLockedError:
        return AccountLockedError(message, locked_until=body.locked_until)
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after_s=body.retry_after_s)
    if cls is MaintenanceError:
        return MaintenanceError(message, window_end=body.window_end)
    return cls(message)
