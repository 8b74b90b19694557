"""HttpSmsSender: a generic SMS provider's HTTP API (documented in docs/brokerage.md).

`POST {base}/v1/messages` with `Authorization: Bearer <key>` and
`{"phone", "sign_name", "template": "otp", "params": {"code", "purpose", "ttl_minutes"}}`;
success `200 {"message_id"}`, failure `{"error": {"code", "message", "retry_after_s"?}}`.
The code itself is never logged.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, NoReturn

import httpx
from pydantic import BaseModel, Field, ValidationError

from app.core.config import Settings
from app.core.security import mask_phone
from app.sms.errors import (
    InvalidPhoneError,
    SmsConfigurationError,
    SmsError,
    SmsRateLimitedError,
    SmsUnavailableError,
)
from app.sms.sender import OTP_TEMPLATE_ID, SmsPurpose, check_phone

log = logging.getLogger(__name__)


class SendResult(BaseModel):
    message_id: Annotated[str, Field(min_length=1, max_length=128)]


class SmsErrorBody(BaseModel):
    code: Annotated[str, Field(max_length=64)]
    message: Annotated[str, Field(max_length=500)] = ""
    retry_after_s: Annotated[int, Field(ge=0)] | None = None


class SmsErrorEnvelope(BaseModel):
    error: SmsErrorBody


class HttpSmsSender:
    """`SmsSender` over the provider's HTTP API with an overall deadline."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        sign_name: str,
        timeout_s: float = 3.0,
    ) -> None:
        self._http = http
        self._url = f"{base_url.rstrip('/')}/v1/messages"
        self._headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._sign_name = sign_name
        self._timeout_s = timeout_s

    async def send_code(
        self, *, phone: str, code: str, purpose: SmsPurpose, ttl_minutes: int = 5
    ) -> str:
        body = {
            "phone": check_phone(phone),
            "sign_name": self._sign_name,
            "template": OTP_TEMPLATE_ID,
            "params": {"code": code, "purpose": str(purpose), "ttl_minutes": str(ttl_minutes)},
        }
        try:
            async with asyncio.timeout(self._timeout_s):
                response = await self._http.post(
                    self._url, json=body, headers=self._headers, timeout=self._timeout_s
                )
        except (TimeoutError, httpx.HTTPError) as exc:
            log.warning("sms.send.unreachable", extra={"phone": mask_phone(phone)})
            raise SmsUnavailableError("SMS provider unreachable") from exc
        message_id = _parse(response)
        log.info("sms.send.ok", extra={"phone": mask_phone(phone), "purpose": str(purpose)})
        return message_id


def _parse(response: httpx.Response) -> str:
    if response.is_success:
        try:
            return SendResult.model_validate_json(response.content).message_id
        except ValidationError as exc:
            raise SmsUnavailableError("SMS provider answer off contract") from exc
    try:
        error = SmsErrorEnvelope.model_validate_json(response.content).error
    except ValidationError:
        error = SmsErrorBody(code="unavailable" if response.status_code >= 500 else "error")
    _raise(error, response.status_code)


def _raise(error: SmsErrorBody, status: int) -> NoReturn:
    log.warning("sms.send.failed", extra={"code": error.code, "status": status})
    if error.code == InvalidPhoneError.code:
        raise InvalidPhoneError(error.message)
    if error.code == SmsRateLimitedError.code or status == 429:
        raise SmsRateLimitedError(error.message, retry_after_s=error.retry_after_s)
    if error.code == SmsConfigurationError.code or status in (401, 403):
        raise SmsConfigurationError(error.message or "SMS provider refused our credentials")
    if status >= 500 or error.code == SmsUnavailableError.code:
        raise SmsUnavailableError(error.message or f"SMS provider answered HTTP {status}")
    raise SmsError(f"SMS provider error {error.code}: {error.message}")


def create_sms_sender(settings: Settings, http: httpx.AsyncClient) -> HttpSmsSender:
    """The configured provider, or the sandbox's copy of its API under /_sim/broker/sms."""
    return HttpSmsSender(
        http,
        base_url=settings.effective_sms_api_base_url,
        api_key=settings.sms_api_key.get_secret_value(),
        sign_name=settings.sms_sign_name,
        timeout_s=settings.sms_http_timeout_s,
    )
