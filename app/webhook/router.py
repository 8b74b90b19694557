"""GET/POST /wechat as a raw ASGI endpoint on the app's fast lane.

The webhook is the hottest path and has WeChat's 5-second deadline, so it skips FastAPI's
middleware stack, router matching and Request objects entirely (see core.routing.FastLaneApp):
query string, body and response are handled at the ASGI level. It never raises: every outcome is
a response (403/400/413 problem bodies, or `success`), which is why no error middleware is needed.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qsl

import orjson
from starlette.types import Message, Receive, Scope, Send

from app.core.errors import AppError
from app.core.logging import request_id_var
from app.core.metrics import WEBHOOK_LATENCY, WEBHOOK_OUTCOMES, count_request, request_id_of
from app.webhook.errors import BodyTooLargeError, MalformedRequestError
from app.webhook.service import TEXT_MEDIA_TYPE, WebhookService
from app.wechat.replies import SUCCESS

log = logging.getLogger(__name__)

ROUTE = "/wechat"
JSON_MEDIA_TYPE = b"application/json"


async def asgi_endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The whole /wechat exchange: request id, dispatch, response, per-route counters."""
    request_id = request_id_of(scope)
    token = request_id_var.set(request_id)
    method = scope["method"]
    service: WebhookService = scope["app"].state.webhook
    try:
        if method == "POST":
            status, media_type, body = await _callback(service, scope, receive)
        elif method == "GET":
            status, media_type, body = _verify_url(service, scope)
        else:
            status, media_type, body = _problem(405, "http_405", "use GET or POST")
        await _respond(send, status, media_type, body, request_id)
    finally:
        count_request(ROUTE, method, status)
        request_id_var.reset(token)


async def _callback(
    service: WebhookService, scope: Scope, receive: Receive
) -> tuple[int, bytes, bytes]:
    started = time.perf_counter()
    try:
        credentials = service.authenticate(_query(scope))
        body = await read_capped_body(scope, receive, service.max_body_bytes)
        answer = await service.handle(credentials, body)
        return 200, answer.media_type.encode(), answer.body
    except AppError as exc:
        return _rejected(exc)
    except Exception:  # process edge: WeChat must never see a 5xx
        log.exception("webhook.internal_error")
        WEBHOOK_OUTCOMES.labels("internal_error").inc()
        return 200, TEXT_MEDIA_TYPE.encode(), SUCCESS.encode()
    finally:
        WEBHOOK_LATENCY.observe(time.perf_counter() - started)


def _verify_url(service: WebhookService, scope: Scope) -> tuple[int, bytes, bytes]:
    try:
        echostr = service.verify_url(_query(scope))
    except AppError as exc:
        return _rejected(exc)
    WEBHOOK_OUTCOMES.labels("verified").inc()
    return 200, TEXT_MEDIA_TYPE.encode(), echostr.encode()


def _query(scope: Scope) -> dict[str, str]:
    raw: bytes = scope.get("query_string", b"")
    return dict(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


def _rejected(exc: AppError) -> tuple[int, bytes, bytes]:
    WEBHOOK_OUTCOMES.labels(f"rejected_{exc.status}").inc()
    log.info("webhook.rejected", extra={"code": exc.code, "status": exc.status})
    return _problem(exc.status, exc.code, exc.detail)


def _problem(status: int, code: str, detail: str) -> tuple[int, bytes, bytes]:
    return status, JSON_MEDIA_TYPE, orjson.dumps({"error": code, "detail": detail})


async def read_capped_body(scope: Scope, receive: Receive, cap: int) -> bytes:
    """The body, refusing (413) a declared or streamed size above `cap` without buffering it."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            if not value.isdigit():
                raise MalformedRequestError("bad Content-Length")
            if int(value) > cap:
                raise BodyTooLargeError(f"body over {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            raise MalformedRequestError("client went away mid-body")
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise BodyTooLargeError(f"body over {cap} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _respond(
    send: Send, status: int, media_type: bytes, body: bytes, request_id: str
) -> None:
    headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
