"""HttpBrokerageGateway: the counter's JSON API (docs/brokerage-api.yaml) over HTTP.

The HTTP client is `app.brokerage.transport`: an aiohttp pool for a configured counter, the app's
shared httpx client for the sandbox mounted in dev (and in-process in tests).

Every failure becomes a `BrokerageError` subclass: timeouts (the client's and our overall
deadline, which also bounds in-process transports), connection errors and 5xx are
`UnavailableError`; the contract's error codes map to their classes; anything off-contract is
`InvalidResponseError`. The request body of `verify_credentials` (the encrypted password) is
never logged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date
from functools import cache
from typing import Any, TypeVar

import httpx
import orjson
from prometheus_client import Histogram
from pydantic import TypeAdapter, ValidationError

from app.brokerage.errors import (
    BrokerageError,
    ChannelAuthError,
    InvalidResponseError,
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
from app.brokerage.schemas import API_KEY_HEADER, DataEnvelope, ErrorEnvelope, error_from_body
from app.brokerage.trading_calendar import TradingCalendar
from app.brokerage.transport import (
    AiohttpCounterHttp,
    CounterHttp,
    CounterResponse,
    CounterTransportError,
    HttpxCounterHttp,
)
from app.core.config import Settings
from app.core.metrics import monotonic

log = logging.getLogger(__name__)
T = TypeVar("T")

BROKERAGE_LATENCY = Histogram(
    "wxbroker_brokerage_request_seconds",
    "Counter API calls by operation and outcome",
    ["op", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0),
)


@cache
def _envelope(model: Any) -> TypeAdapter[Any]:
    return TypeAdapter(DataEnvelope[model])


class HttpBrokerageGateway:
    """`BrokerageGateway` over HTTP: an `httpx.AsyncClient` (wrapped) or a `CounterHttp`."""

    def __init__(
        self,
        http: httpx.AsyncClient | CounterHttp,
        *,
        base_url: str,
        api_key: str = "",
        timeout_s: float = 3.0,
    ) -> None:
        if isinstance(http, httpx.AsyncClient):
            http = HttpxCounterHttp(http, timeout_s=timeout_s)
        self._http: CounterHttp = http
        self._base = base_url.rstrip("/")
        self._headers = {API_KEY_HEADER: api_key} if api_key else {}
        self._json_headers = {**self._headers, "content-type": "application/json"}
        self._timeout_s = timeout_s

    async def aclose(self) -> None:
        """Close the gateway's own connection pool (a shared httpx client stays open)."""
        await self._http.aclose()

    async def _call(
        self,
        op: str,
        method: str,
        path: str,
        model: type[T] | Any,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        started = monotonic()
        outcome = "ok"
        try:
            response = await self._send(op, method, path, json=json, params=params)
            return _parse(op, response, model)
        except BrokerageError as exc:
            outcome = exc.code
            raise
        finally:
            BROKERAGE_LATENCY.labels(op, outcome).observe(monotonic() - started)

    async def _send(
        self,
        op: str,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None,
        params: dict[str, str] | None,
    ) -> CounterResponse:
        url = f"{self._base}{path}"
        body = orjson.dumps(json) if json is not None else None
        headers = self._json_headers if body is not None else self._headers
        try:
            async with asyncio.timeout(self._timeout_s):
                return await self._http.request(
                    method, url, body=body, params=params, headers=headers
                )
        except TimeoutError as exc:
            log.warning("brokerage.request.timeout", extra={"op": op})
            raise UnavailableError(f"counter timed out ({op})") from exc
        except CounterTransportError as exc:
            if exc.timeout:
                log.warning("brokerage.request.timeout", extra={"op": op})
                raise UnavailableError(f"counter timed out ({op})") from exc
            log.warning("brokerage.request.unreachable", extra={"op": op, "error": exc.reason})
            raise UnavailableError(f"counter unreachable ({op})") from exc

    # -- binding ----------------------------------------------------------------------------
    async def get_public_key(self) -> PublicKey:
        key: PublicKey = await self._call("public_key", "GET", "/v1/auth/public-key", PublicKey)
        return key

    async def send_sms_code(self, *, account_no: str) -> SmsChallenge:
        body = {"account_no": account_no}
        challenge: SmsChallenge = await self._call(
            "sms_code", "POST", "/v1/auth/sms-codes", SmsChallenge, json=body
        )
        return challenge

    async def verify_credentials(
        self, *, account_no: str, encrypted_password: str, sms_code: str
    ) -> Holder:
        body = {
            "account_no": account_no,
            "encrypted_password": encrypted_password,
            "sms_code": sms_code,
        }
        holder: Holder = await self._call("verify", "POST", "/v1/auth/verify", Holder, json=body)
        return holder

    # -- reads ------------------------------------------------------------------------------
    async def get_personal_info(self, *, client_id: str) -> PersonalInfo:
        path = f"/v1/clients/{_seg(client_id)}"
        info: PersonalInfo = await self._call("personal_info", "GET", path, PersonalInfo)
        return info

    async def list_accounts(self, *, client_id: str) -> list[BrokerageAccount]:
        path = f"/v1/clients/{_seg(client_id)}/accounts"
        accounts: list[BrokerageAccount] = await self._call(
            "accounts", "GET", path, list[BrokerageAccount]
        )
        return accounts

    async def _account_read(self, op: str, client_id: str, account_id: str, model: Any) -> Any:
        path = f"/v1/clients/{_seg(client_id)}/accounts/{_seg(account_id)}/{op.replace('_', '-')}"
        return await self._call(op, "GET", path, model)

    async def get_assets(self, *, client_id: str, account_id: str) -> Assets:
        assets: Assets = await self._account_read("assets", client_id, account_id, Assets)
        return assets

    async def get_liabilities(self, *, client_id: str, account_id: str) -> Liabilities:
        debt: Liabilities = await self._account_read(
            "liabilities", client_id, account_id, Liabilities
        )
        return debt

    async def get_positions(self, *, client_id: str, account_id: str) -> list[Position]:
        rows: list[Position] = await self._account_read(
            "positions", client_id, account_id, list[Position]
        )
        return rows

    async def get_holding_pnl(self, *, client_id: str, account_id: str) -> HoldingPnl:
        pnl: HoldingPnl = await self._account_read("pnl", client_id, account_id, HoldingPnl)
        return pnl

    async def get_today_orders(self, *, client_id: str, account_id: str) -> list[Order]:
        rows: list[Order] = await self._account_read("orders", client_id, account_id, list[Order])
        return rows

    async def get_today_fund_flows(self, *, client_id: str, account_id: str) -> list[FundFlow]:
        rows: list[FundFlow] = await self._account_read(
            "fund_flows", client_id, account_id, list[FundFlow]
        )
        return rows

    async def get_ipo_subscriptions(
        self, *, client_id: str, account_id: str
    ) -> list[IpoSubscription]:
        rows: list[IpoSubscription] = await self._account_read(
            "ipo_subscriptions", client_id, account_id, list[IpoSubscription]
        )
        return rows

    async def get_trading_calendar(self, *, start: date, end: date) -> TradingCalendar:
        params = {"start": start.isoformat(), "end": end.isoformat()}
        found: CalendarRange = await self._call(
            "calendar", "GET", "/v1/calendar", CalendarRange, params=params
        )
        return found.to_calendar()


def _seg(value: str) -> str:
    """Ids go into the path; refuse anything that could change the path instead of quoting."""
    if not value or not value.isalnum() or len(value) > 64:
        raise UnknownAccountError("malformed client or account id")
    return value


def _parse(op: str, response: CounterResponse, model: Any) -> Any:
    """The `data` of a success, or the domain error of a failure. Never an HTTP/pydantic error."""
    if response.is_success:
        try:
            return _envelope(model).validate_json(response.body).data
        except ValidationError as exc:
            log.warning("brokerage.response.invalid", extra={"op": op, "errors": exc.error_count()})
            raise InvalidResponseError(f"counter answer off contract ({op})") from exc
    error = _error_of(response)
    log.info(
        "brokerage.request.failed",
        extra={"op": op, "status": response.status, "code": error.code},
    )
    raise error


def _error_of(response: CounterResponse) -> BrokerageError:
    try:
        envelope = ErrorEnvelope.model_validate_json(response.body)
    except ValidationError:
        return _error_without_body(response)
    return error_from_body(envelope.error)


def _error_without_body(response: CounterResponse) -> BrokerageError:
    status = response.status
    if status >= 500:
        return UnavailableError(f"counter answered HTTP {status}")
    if status == 429:
        retry_after = response.headers.get("retry-after", "")
        seconds = int(retry_after) if retry_after.isdigit() else None
        return RateLimitedError("counter throttled us", retry_after_s=seconds)
    if status in (401, 403):
        return ChannelAuthError(f"counter refused the channel credentials (HTTP {status})")
    return InvalidResponseError(f"counter answered HTTP {status} without an error body")


def create_brokerage_gateway(settings: Settings, http: httpx.AsyncClient) -> HttpBrokerageGateway:
    """The gateway the app uses: the configured counter, or the sandbox under /_sim/broker.

    A configured counter gets an aiohttp pool of its own (see `app.brokerage.transport`); the
    mounted sandbox is reached through the app's shared httpx client. Close it with `aclose`.
    """
    timeout_s = settings.brokerage_http_timeout_s
    transport: CounterHttp = (
        AiohttpCounterHttp(timeout_s=timeout_s)
        if settings.brokerage_api_base_url
        else HttpxCounterHttp(http, timeout_s=timeout_s)
    )
    return HttpBrokerageGateway(
        transport,
        base_url=settings.effective_brokerage_api_base_url,
        api_key=settings.brokerage_api_key.get_secret_value(),
        timeout_s=timeout_s,
    )
