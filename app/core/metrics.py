"""Prometheus metrics and the ASGI middleware that counts requests and sets the request id."""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import request_id_var

HTTP_REQUESTS = Counter(
    "wxbroker_http_requests_total",
    "HTTP requests by route and status",
    ["route", "method", "status"],
)
WEBHOOK_LATENCY = Histogram(
    "wxbroker_webhook_latency_seconds",
    "Time to answer WeChat on POST /wechat",
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 5.0),
)
WEBHOOK_HANDLER_ERRORS = Counter(
    "wxbroker_webhook_handler_errors_total", "Webhook handlers that raised", ["handler"]
)
WEBHOOK_OUTCOMES = Counter(
    "wxbroker_webhook_requests_total", "Webhook requests by outcome", ["outcome"]
)


class RequestContextMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware overhead): request id + per-route counters."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        token = request_id_var.set(request_id)
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route: Any = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            count_request(path, scope.get("method", ""), status)
            request_id_var.reset(token)


_request_counters: dict[tuple[str, str, int], Any] = {}


def count_request(route: str, method: str, status: int) -> None:
    """Count one request; label children are cached (labels() is costly on hot paths)."""
    key = (route, method, status)
    child = _request_counters.get(key)
    if child is None:
        child = _request_counters[key] = HTTP_REQUESTS.labels(route, method, str(status))
    child.inc()


def request_id_of(scope: Scope) -> str:
    """The caller's X-Request-Id (sanitised), or a fresh one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text: str = value.decode("latin-1")[:64]
            cleaned = "".join(c for c in text if c.isalnum() or c in "-_")
            if cleaned:
                return cleaned
    return os.urandom(8).hex()


async def metrics_endpoint(_request: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def monotonic() -> float:
    return time.perf_counter()
