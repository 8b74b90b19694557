"""HTTP transports behind the WeChat client: httpx (shared, test-friendly) and aiohttp (send path).

Why two: httpx's default transport (httpcore) loses most of its throughput at a few hundred
concurrent requests, while aiohttp keeps up (measurements in docs/wechat-client.md). Both sit
behind the same tiny `Transport` protocol, so the client and its tests do not care which one
carries a call. Every request has a timeout; failures become `TransportFailure`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx
from yarl import URL

from app.core.aiohttp_pool import LazyAiohttpSession
from app.wechat.errors import redact

JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True, slots=True)
class RawResponse:
    status: int
    body: bytes


class TransportFailure(Exception):
    """The request got no HTTP answer (timeout, refused, reset). `reason` never holds a URL."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Transport(Protocol):
    async def request(self, method: str, url: str, *, body: bytes | None = None) -> RawResponse:
        """One HTTP exchange; `url` carries the query string, `body` is JSON bytes."""
        ...

    async def aclose(self) -> None: ...


class RedactUrlsFilter(logging.Filter):
    """httpx logs every request URL at INFO; ours carry access_token in the query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = redact(record.getMessage()), None
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install_httpx_log_redaction() -> None:
    """Idempotent: one redaction filter on the `httpx` logger."""
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, RedactUrlsFilter) for f in logger.filters):
        logger.addFilter(RedactUrlsFilter())


class HttpxTransport:
    """Over an `httpx.AsyncClient` (the app's shared pool, or an ASGITransport in tests)."""

    def __init__(self, http: httpx.AsyncClient, *, timeout_s: float, owned: bool = False) -> None:
        install_httpx_log_redaction()
        self._http = http
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 3.0))
        self._owned = owned

    async def request(self, method: str, url: str, *, body: bytes | None = None) -> RawResponse:
        headers = JSON_HEADERS if body is not None else None
        try:
            response = await self._http.request(
                method, url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise TransportFailure(f"timeout ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise TransportFailure(type(exc).__name__) from None
        return RawResponse(response.status_code, response.content)

    async def aclose(self) -> None:
        if self._owned:
            await self._http.aclose()


class AiohttpTransport:
    """One pooled aiohttp session per process, created lazily inside the running loop."""

    def __init__(
        self, *, timeout_s: float, max_connections: int = 512, connect_timeout_s: float = 3.0
    ) -> None:
        self._pool = LazyAiohttpSession(
            timeout_s=timeout_s, connect_timeout_s=connect_timeout_s, limit=max_connections
        )
        self._urls: dict[str, URL] = {}  # parsed once: URL parsing is a visible per-call cost

    async def request(self, method: str, url: str, *, body: bytes | None = None) -> RawResponse:
        headers = JSON_HEADERS if body is not None else None
        session = self._pool.get()
        parsed = self._urls.get(url)
        if parsed is None:
            if len(self._urls) >= 256:
                self._urls.clear()
            parsed = self._urls[url] = URL(url, encoded=True)
        try:
            async with session.request(method, parsed, data=body, headers=headers) as response:
                return RawResponse(response.status, await response.read())
        except TimeoutError:
            raise TransportFailure("timeout") from None
        except aiohttp.ClientError as exc:
            raise TransportFailure(type(exc).__name__) from None

    async def aclose(self) -> None:
        await self._pool.aclose()
