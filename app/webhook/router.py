"""GET/POST /wechat: a lean Starlette route (no body models, no dependency chain)."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response

from app.core.errors import AppError, problem
from app.core.metrics import WEBHOOK_LATENCY, WEBHOOK_OUTCOMES
from app.webhook.errors import BodyTooLargeError, MalformedRequestError
from app.webhook.service import WebhookService
from app.wechat.replies import SUCCESS

log = logging.getLogger(__name__)

router = APIRouter()


async def wechat_callback(request: Request) -> Response:
    service: WebhookService = request.app.state.webhook
    if request.method == "GET":
        return _verify_url(service, request)
    started = time.perf_counter()
    try:
        credentials = service.authenticate(request.query_params)
        body = await read_capped_body(request, service.max_body_bytes)
        answer = await service.handle(credentials, body)
        return Response(answer.body, media_type=answer.media_type)
    except AppError as exc:
        return _rejected(exc)
    except Exception:  # process edge: WeChat must never see a 5xx
        log.exception("webhook.internal_error")
        WEBHOOK_OUTCOMES.labels("internal_error").inc()
        return PlainTextResponse(SUCCESS)
    finally:
        WEBHOOK_LATENCY.observe(time.perf_counter() - started)


def _verify_url(service: WebhookService, request: Request) -> Response:
    try:
        echostr = service.verify_url(request.query_params)
    except AppError as exc:
        return _rejected(exc)
    WEBHOOK_OUTCOMES.labels("verified").inc()
    return PlainTextResponse(echostr)


def _rejected(exc: AppError) -> Response:
    WEBHOOK_OUTCOMES.labels(f"rejected_{exc.status}").inc()
    log.info("webhook.rejected", extra={"code": exc.code, "status": exc.status})
    return problem(exc.status, exc.code, exc.detail)


async def read_capped_body(request: Request, cap: int) -> bytes:
    """The body, refusing (413) a declared or streamed size above `cap` without buffering it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise MalformedRequestError("bad Content-Length")
        if int(declared) > cap:
            raise BodyTooLargeError(f"body over {cap} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                raise BodyTooLargeError(f"body over {cap} bytes")
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise MalformedRequestError("client went away mid-body") from exc
    return b"".join(chunks)


router.add_route(
    "/wechat", wechat_callback, methods=["GET", "POST"], include_in_schema=False, name="wechat"
)
