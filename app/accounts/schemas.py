"""Shapes the binding feature reads, returns and shares with other features."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr


@dataclass(frozen=True, slots=True)
class BindingRead:
    """A fan's active binding, with the counter references other features query with."""

    id: int
    openid: str
    client_id: str
    account_id: str
    account_no_masked: str
    account_type: str
    is_default: bool
    bound_at: datetime


class BindingView(BaseModel):
    """What the page sees of a binding: never the counter references."""

    model_config = ConfigDict(frozen=True)

    id: int
    account_no_masked: str
    account_type: str
    account_type_name: str
    is_default: bool
    bound_at: datetime


class SmsCodeRequest(BaseModel):
    account_no: Annotated[str, Field(pattern=r"^[0-9]{6,20}$")]


class SmsCodeSent(BaseModel):
    phone_masked: str
    resend_after_s: int
    message: str


class BindRequest(BaseModel):
    account_no: Annotated[str, Field(pattern=r"^[0-9]{6,20}$")]
    # Ciphertext of the password (RSA-OAEP, base64); SecretStr keeps it out of reprs and logs.
    encrypted_password: Annotated[SecretStr, Field(min_length=1, max_length=2048)]
    sms_code: Annotated[str, Field(pattern=r"^[0-9]{4,8}$")]
    consent_privacy: bool = False
    consent_financial: bool = False
    consent_version: Annotated[str, Field(max_length=32)] = ""


class BindResult(BaseModel):
    binding: BindingView
    message: str


class PublicKeyRead(BaseModel):
    key_id: str
    algorithm: str
    pem: str


@dataclass(frozen=True, slots=True)
class FanSession:
    """The fan behind a valid H5 session cookie."""

    openid: str
    session_id: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class OAuthStart:
    """Where to send the fan for OAuth, and the nonce cookie that ties the callback to them."""

    authorize_url: str
    nonce: str


@dataclass(frozen=True, slots=True)
class OAuthDone:
    session_cookie: str
    return_path: str
    openid: str


@dataclass(frozen=True, slots=True)
class UnbindResult:
    unbound: BindingRead
    new_default: BindingRead | None
