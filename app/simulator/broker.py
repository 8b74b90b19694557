"""Sandbox brokerage counter: docs/brokerage-api.yaml over HTTP, plus admin knobs and SMS outbox.

Mounted at /_sim/broker in dev (and by `wxbroker sim`). The counter's rules live in
`InMemoryBrokerageGateway`; this module is the HTTP face: contract envelopes, error codes with
their statuses, the channel API key, injected latency and faults, and a copy of a generic SMS
provider API (`POST /sms/v1/messages`). Admin endpoints are under `/_admin` (docs/brokerage.md).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from app.brokerage import demo_data
from app.brokerage.errors import (
    ERRORS_BY_CODE,
    BrokerageError,
    ChannelAuthError,
    InvalidRequestError,
    MaintenanceError,
    RateLimitedError,
    UnavailableError,
)
from app.brokerage.schemas import API_KEY_HEADER, SmsCodeRequest, VerifyRequest, error_body
from app.core.config import Settings
from app.core.security import constant_time_equals, mask_phone
from app.simulator.broker_state import (
    BrokerSandbox,
    BrokerSandboxConfig,
    FaultSpec,
    LatencySpec,
    MaintenanceSpec,
)
from app.sms.errors import InvalidPhoneError
from app.sms.sandbox import SmsOutbox, SmsRecord
from app.sms.sender import MOBILE_RE
from app.sms.texts import render_otp

log = logging.getLogger(__name__)


class _Injected(Exception):
    """Carries a ready response out of a dependency (injected faults)."""

    def __init__(self, response: Response) -> None:
        super().__init__("injected response")
        self.response = response


def _sandbox(request: Request) -> BrokerSandbox:
    sandbox: BrokerSandbox = request.app.state.sandbox
    return sandbox


SandboxDep = Annotated[BrokerSandbox, Depends(_sandbox)]


def _ok(data: Any) -> Response:
    return Response(to_json({"data": data}), media_type="application/json")


def error_response(exc: BrokerageError) -> JSONResponse:
    headers = {}
    if isinstance(exc, RateLimitedError) and exc.retry_after_s is not None:
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, MaintenanceError | UnavailableError):
        headers["Retry-After"] = "60"
    body = {"error": error_body(exc).model_dump(mode="json", exclude_none=True)}
    return JSONResponse(body, status_code=exc.http_status, headers=headers)


def _gate(op: str) -> Callable[[Request], Awaitable[None]]:
    """Latency, channel key and injected faults, in that order, for one operation."""

    async def gate(request: Request) -> None:
        sandbox = _sandbox(request)
        sandbox.requests[op] += 1
        delay = sandbox.latency_s()
        if delay:
            await sandbox.config.sleep(delay)
        expected = sandbox.config.api_key
        given = request.headers.get(API_KEY_HEADER, "")
        if op != "sms_send" and expected and not constant_time_equals(given, expected):
            raise ChannelAuthError("missing or wrong X-Api-Key")
        fault = sandbox.pick_fault(op)
        if fault is not None:
            await _apply(sandbox, fault)

    return gate


async def _apply(sandbox: BrokerSandbox, fault: FaultSpec) -> None:
    if fault.timeout:
        await sandbox.config.sleep(sandbox.config.max_hang_s)
        raise UnavailableError("injected hang ended")
    if fault.garbage:
        raise _Injected(Response(b'{"unexpected": [1, 2, 3]}', media_type="application/json"))
    if fault.http_status is not None:
        raise _Injected(PlainTextResponse("injected failure", status_code=fault.http_status))
    cls = ERRORS_BY_CODE[fault.error_code or UnavailableError.code]
    raise cls(f"injected {cls.code}")


api = APIRouter(prefix="/v1")


@api.get("/auth/public-key", dependencies=[Depends(_gate("public_key"))])
async def public_key(sandbox: SandboxDep) -> Response:
    return _ok(await sandbox.gateway.get_public_key())


@api.post("/auth/sms-codes", dependencies=[Depends(_gate("sms_code"))])
async def sms_code(body: SmsCodeRequest, sandbox: SandboxDep) -> Response:
    return _ok(await sandbox.gateway.send_sms_code(account_no=body.account_no))


@api.post("/auth/verify", dependencies=[Depends(_gate("verify"))])
async def verify(body: VerifyRequest, sandbox: SandboxDep) -> Response:
    holder = await sandbox.gateway.verify_credentials(
        account_no=body.account_no,
        encrypted_password=body.encrypted_password,
        sms_code=body.sms_code,
    )
    return _ok(holder)


@api.get("/clients/{client_id}", dependencies=[Depends(_gate("personal_info"))])
async def personal_info(client_id: str, sandbox: SandboxDep) -> Response:
    return _ok(await sandbox.gateway.get_personal_info(client_id=client_id))


@api.get("/clients/{client_id}/accounts", dependencies=[Depends(_gate("accounts"))])
async def accounts(client_id: str, sandbox: SandboxDep) -> Response:
    return _ok(await sandbox.gateway.list_accounts(client_id=client_id))


ACCOUNT_READS = {
    "assets": "get_assets",
    "liabilities": "get_liabilities",
    "positions": "get_positions",
    "pnl": "get_holding_pnl",
    "orders": "get_today_orders",
    "fund_flows": "get_today_fund_flows",
    "ipo_subscriptions": "get_ipo_subscriptions",
}


def _account_read(method: str) -> Callable[[str, str, BrokerSandbox], Awaitable[Response]]:
    async def read(client_id: str, account_id: str, sandbox: SandboxDep) -> Response:
        reader = getattr(sandbox.gateway, method)
        return _ok(await reader(client_id=client_id, account_id=account_id))

    return read


for _op, _method in ACCOUNT_READS.items():
    api.add_api_route(
        f"/clients/{{client_id}}/accounts/{{account_id}}/{_op.replace('_', '-')}",
        _account_read(_method),
        methods=["GET"],
        name=_op,
        dependencies=[Depends(_gate(_op))],
    )


@api.get("/calendar", dependencies=[Depends(_gate("calendar"))])
async def calendar(start: date, end: date, sandbox: SandboxDep) -> Response:
    found = await sandbox.gateway.get_trading_calendar(start=start, end=end)
    return _ok({"start": found.start, "end": found.end, "trading_days": found.trading_days})


# -- a generic SMS provider's API ------------------------------------------------------------
class SmsParams(BaseModel):
    code: str
    purpose: str = "verify"
    ttl_minutes: str = "5"


class SmsSendRequest(BaseModel):
    phone: str
    sign_name: str
    template: str
    params: SmsParams


sms = APIRouter(prefix="/sms/v1")


def _sms_error(code: str, message: str, status: int, **extra: int) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status)


@sms.post("/messages", dependencies=[Depends(_gate("sms_send"))], response_model=None)
async def send_sms(
    body: SmsSendRequest,
    sandbox: SandboxDep,
    authorization: Annotated[str, Header()] = "",
) -> JSONResponse:
    key = sandbox.config.sms_api_key
    if key and not constant_time_equals(authorization, f"Bearer {key}"):
        return _sms_error("unauthorized", "bad API key", 401)
    if not MOBILE_RE.fullmatch(body.phone):
        return _sms_error(InvalidPhoneError.code, "not a mainland mobile number", 400)
    wait = sandbox.provider_throttle_s(body.phone)
    if wait:
        return _sms_error(
            "rate_limited", "one message per phone per minute", 429, retry_after_s=wait
        )
    ttl = int(body.params.ttl_minutes) if body.params.ttl_minutes.isdigit() else 5
    text = render_otp(
        sign=body.sign_name, code=body.params.code, purpose=body.params.purpose, ttl_minutes=ttl
    )
    record = sandbox.outbox.record(
        phone=body.phone,
        code=body.params.code,
        purpose=body.params.purpose,
        text=text,
        channel="api",
    )
    log.info("sim.broker.sms", extra={"phone": mask_phone(body.phone)})
    return JSONResponse({"message_id": record.message_id})


# -- admin -----------------------------------------------------------------------------------
admin = APIRouter(prefix="/_admin")


def _record_json(record: SmsRecord) -> dict[str, str]:
    return {
        "message_id": record.message_id,
        "code": record.code,
        "purpose": record.purpose,
        "text": record.text,
        "sent_at": record.sent_at.isoformat(),
        "channel": record.channel,
    }


@admin.post("/reset")
async def reset(sandbox: SandboxDep) -> dict[str, bool]:
    sandbox.reset()
    return {"ok": True}


@admin.post("/latency")
async def set_latency(spec: LatencySpec, sandbox: SandboxDep) -> LatencySpec:
    sandbox.latency = spec
    return spec


@admin.post("/faults", response_model=None)
async def add_fault(spec: FaultSpec, sandbox: SandboxDep) -> JSONResponse:
    if not spec.is_valid():
        detail = "exactly one of error_code (a contract code), http_status, timeout, garbage"
        return JSONResponse({"error": "invalid_fault", "detail": detail}, status_code=400)
    sandbox.add_fault(spec)
    return JSONResponse({"ok": True, "faults": len(sandbox.faults)})


@admin.delete("/faults")
async def clear_faults(sandbox: SandboxDep) -> dict[str, bool]:
    sandbox.faults.clear()
    return {"ok": True}


@admin.post("/maintenance")
async def maintenance(spec: MaintenanceSpec, sandbox: SandboxDep) -> dict[str, object]:
    sandbox.set_maintenance(spec.mode)
    return {"mode": spec.mode, "in_maintenance": sandbox.gateway.in_maintenance()}


@admin.get("/sms")
async def sms_latest(sandbox: SandboxDep) -> list[dict[str, str]]:
    latest = (sandbox.outbox.latest(phone) for phone in sandbox.outbox.phones())
    return [{"phone": r.phone, **_record_json(r)} for r in latest if r is not None]


@admin.get("/sms/{phone}", response_model=None)
async def sms_for_phone(phone: str, sandbox: SandboxDep) -> JSONResponse:
    records = sandbox.outbox.messages(phone)
    if not records:
        return JSONResponse({"error": "not_found", "detail": "no SMS for this phone"}, 404)
    body = {
        "phone": phone,
        "latest": _record_json(records[-1]),
        "messages": [_record_json(r) for r in reversed(records)],
    }
    return JSONResponse(body)


@admin.get("/customers")
async def customers() -> list[dict[str, object]]:
    """The demo credentials (sandbox only), for the phone emulator and newcomers."""
    return [
        {
            "name": c.name,
            "phone": c.phone,
            "client_id": c.client_id,
            "accounts": [
                {
                    "account_no": a.account_no,
                    "password": a.password,
                    "type": a.account_type,
                    "locked": a.locked,
                }
                for a in c.accounts
            ],
        }
        for c in demo_data.CUSTOMERS
    ]


@admin.get("/stats")
async def stats(sandbox: SandboxDep) -> dict[str, object]:
    return {
        "requests": dict(sandbox.requests),
        "gateway_calls": dict(sandbox.gateway.calls),
        "faults_fired": dict(sandbox.faults_fired),
        "in_maintenance": sandbox.gateway.in_maintenance(),
    }


async def _brokerage_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BrokerageError)
    return error_response(exc)


async def _injected(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Injected)
    return exc.response


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    return error_response(InvalidRequestError("request does not follow the contract"))


def create_broker_sandbox(
    config: BrokerSandboxConfig | None = None, *, outbox: SmsOutbox | None = None
) -> FastAPI:
    """The sandbox counter as an ASGI app; its state is `app.state.sandbox`."""
    app = FastAPI(title="wxbroker sandbox brokerage", version="1.0.0", docs_url="/docs")
    app.state.sandbox = BrokerSandbox(config or BrokerSandboxConfig(), outbox)
    app.include_router(api)
    app.include_router(sms)
    app.include_router(admin)
    app.add_exception_handler(BrokerageError, _brokerage_error)
    app.add_exception_handler(_Injected, _injected)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    return app


BROKER_MOUNT = "/_sim/broker"


def mount_broker_sandbox(app: FastAPI, settings: Settings) -> BrokerSandbox:
    """Serve the sandbox counter at /_sim/broker of `app` (once; later calls return it)."""
    existing: BrokerSandbox | None = getattr(app.state, "broker_sandbox", None)
    if existing is not None:
        return existing
    sandbox_app = create_broker_sandbox(BrokerSandboxConfig.from_settings(settings))
    app.mount(BROKER_MOUNT, sandbox_app)
    sandbox: BrokerSandbox = sandbox_app.state.sandbox
    app.state.broker_sandbox = sandbox
    return sandbox
