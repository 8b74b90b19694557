"""The counter API contract (OpenAPI 3.1) built from the models, written to docs/brokerage-api.yaml.

`python -m app.brokerage.contract > docs/brokerage-api.yaml` regenerates the file; a test fails
when the committed file and the models drift apart.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.brokerage.errors import (
    ERRORS_BY_CODE,
    AccountLockedError,
    BrokerageError,
    ChannelAuthError,
    InvalidCredentialsError,
    InvalidRequestError,
    InvalidSmsCodeError,
    MaintenanceError,
    PasswordDecryptError,
    RateLimitedError,
    UnavailableError,
    UnknownAccountError,
)
from app.brokerage.gateway import (
    Assets,
    BrokerageAccount,
    CalendarRange,
    FundFlow,
    Holder,
    HoldingPnl,
    IpoSubscription,
    Liabilities,
    Order,
    PersonalInfo,
    Position,
    PublicKey,
    SmsChallenge,
)
from app.brokerage.schemas import API_KEY_HEADER, ErrorEnvelope, SmsCodeRequest, VerifyRequest

REF = "#/components/schemas/{model}"
ALWAYS: tuple[type[BrokerageError], ...] = (
    ChannelAuthError,
    MaintenanceError,
    UnavailableError,
    RateLimitedError,
)
ACCOUNT = "/v1/clients/{client_id}/accounts/{account_id}"


@dataclass(frozen=True)
class Operation:
    op: str
    method: str
    path: str
    summary: str
    response: type[BaseModel]
    many: bool = False
    request: type[BaseModel] | None = None
    errors: tuple[type[BrokerageError], ...] = (UnknownAccountError,)


OPERATIONS = (
    Operation(
        "public_key",
        "get",
        "/v1/auth/public-key",
        "RSA public key (SPKI PEM) for RSA-OAEP SHA-256 password encryption in the browser",
        PublicKey,
        errors=(),
    ),
    Operation(
        "sms_code",
        "post",
        "/v1/auth/sms-codes",
        "Text a one-time code to the phone on record of an account (resend: 60 s)",
        SmsChallenge,
        request=SmsCodeRequest,
        errors=(UnknownAccountError, AccountLockedError, InvalidRequestError),
    ),
    Operation(
        "verify",
        "post",
        "/v1/auth/verify",
        "Check the encrypted password and the SMS code; consumes the code. "
        "Wrong passwords count towards a lockout (attempts_left)",
        Holder,
        request=VerifyRequest,
        errors=(
            UnknownAccountError,
            InvalidCredentialsError,
            PasswordDecryptError,
            AccountLockedError,
            InvalidSmsCodeError,
            InvalidRequestError,
        ),
    ),
    Operation(
        "personal_info", "get", "/v1/clients/{client_id}", "Personal information", PersonalInfo
    ),
    Operation(
        "accounts",
        "get",
        "/v1/clients/{client_id}/accounts",
        "Every fund account of the client",
        BrokerageAccount,
        many=True,
    ),
    Operation("assets", "get", f"{ACCOUNT}/assets", "Balances", Assets),
    Operation(
        "liabilities",
        "get",
        f"{ACCOUNT}/liabilities",
        "Margin debt and maintenance ratio (zeros for a cash account)",
        Liabilities,
    ),
    Operation(
        "positions",
        "get",
        f"{ACCOUNT}/positions",
        "Holdings, largest market value first",
        Position,
        many=True,
    ),
    Operation("pnl", "get", f"{ACCOUNT}/pnl", "Holding P&L summary", HoldingPnl),
    Operation(
        "orders",
        "get",
        f"{ACCOUNT}/orders",
        "Today's orders, oldest first (empty on a non-trading day)",
        Order,
        many=True,
    ),
    Operation(
        "fund_flows",
        "get",
        f"{ACCOUNT}/fund-flows",
        "Today's money movements, oldest first",
        FundFlow,
        many=True,
    ),
    Operation(
        "ipo_subscriptions",
        "get",
        f"{ACCOUNT}/ipo-subscriptions",
        "IPO applications, lottery results and payment deadlines (16:00 on T+2)",
        IpoSubscription,
        many=True,
    ),
    Operation(
        "calendar",
        "get",
        "/v1/calendar",
        "Trading days in [start, end] (<= 400 days)",
        CalendarRange,
        errors=(InvalidRequestError,),
    ),
)

MODELS: tuple[type[BaseModel], ...] = (
    PublicKey,
    SmsChallenge,
    Holder,
    BrokerageAccount,
    PersonalInfo,
    Assets,
    Liabilities,
    Position,
    HoldingPnl,
    Order,
    FundFlow,
    IpoSubscription,
    CalendarRange,
    ErrorEnvelope,
)


def _schemas() -> dict[str, Any]:
    pairs: list[tuple[type[BaseModel], Any]] = [(m, "serialization") for m in MODELS]
    pairs += [(SmsCodeRequest, "validation"), (VerifyRequest, "validation")]
    _, defs = models_json_schema(pairs, ref_template=REF)
    schemas: dict[str, Any] = defs["$defs"]
    return dict(sorted(schemas.items()))


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def _parameters(op: Operation) -> list[dict[str, Any]]:
    params = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "pattern": "^[A-Za-z0-9]{1,64}$"},
        }
        for name in ("client_id", "account_id")
        if "{" + name + "}" in op.path
    ]
    if op.op == "calendar":
        params += [
            {
                "name": name,
                "in": "query",
                "required": True,
                "schema": {"type": "string", "format": "date"},
            }
            for name in ("start", "end")
        ]
    return params


def _responses(op: Operation) -> dict[str, Any]:
    data = {"type": "array", "items": _ref(op.response)} if op.many else _ref(op.response)
    ok = {"type": "object", "required": ["data"], "properties": {"data": data}}
    responses: dict[str, Any] = {
        "200": {"description": "OK", "content": {"application/json": {"schema": ok}}}
    }
    by_status: dict[int, list[str]] = {}
    for error in (*op.errors, *ALWAYS):
        by_status.setdefault(error.http_status, []).append(error.code)
    for status, codes in sorted(by_status.items()):
        responses[str(status)] = {
            "description": "error.code: " + ", ".join(sorted(set(codes))),
            "content": {"application/json": {"schema": _ref(ErrorEnvelope)}},
        }
    return responses


def _operation(op: Operation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "operationId": op.op,
        "summary": op.summary,
        "parameters": _parameters(op),
        "responses": _responses(op),
    }
    if op.request is not None:
        schema = _ref(op.request)
        body["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schema}},
        }
    return body


DESCRIPTION = """\
JSON API of the broker's counter system as this service uses it (app/brokerage/client.py).
Success: 200 with {"data": ...}. Failure: 4xx/5xx with {"error": {"code", "message", ...}};
the error code decides, the status only groups. Money is a decimal string ("152380.45"),
ratios are fractions ("0.0213" = 2.13 %), security codes are 6-digit strings, datetimes carry
an offset (Beijing, +08:00). Account reads take the client id AND the account id; an account
that is not the client's is `unknown_account`. The counter answers `maintenance` (503,
Retry-After, window_end) during its nightly window.
Error codes: """ + ", ".join(f"{code} ({cls.http_status})" for code, cls in ERRORS_BY_CODE.items())


def build_openapi() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Brokerage counter API", "version": "1.0.0", "description": DESCRIPTION},
        "servers": [{"url": "http://127.0.0.1:8000/_sim/broker", "description": "dev sandbox"}],
        "security": [{"channelKey": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "channelKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            },
            "schemas": _schemas(),
        },
    }


class _Dumper(yaml.SafeDumper):  # type: ignore[misc]  # PyYAML ships no type hints
    """Multi-line strings as literal blocks, so the description reads as written."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def render() -> str:
    header = "# Generated by `python -m app.brokerage.contract`; edit the models, not this file.\n"
    body: str = yaml.dump(
        build_openapi(), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
    )
    return header + body


if __name__ == "__main__":
    sys.stdout.write(render())
