"""HTTP under the counter gateway: httpx (the app's shared client) or an aiohttp pool of its own.

Why two: under the account-center benchmark (32 fans clicking at once, counter at 50 ms) py-spy
put about half of a cold click's CPU in httpcore's pool (it scans every pooled connection, with
a readability check each, on each request and each release). A configured counter therefore gets
an aiohttp pool; the sandbox mounted in dev is reached through the app's shared httpx client,
which tests point at the app in-process (`httpx.ASGITransport`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import aiohttp
import httpx

from app.core.aiohttp_pool import LazyAiohttpSession

# Sized above the concurrency a process sees (the benchmark runs 32 fans per process).
POOL_SIZE = 100
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class CounterResponse:
    status: int
    headers: Mapping[str, str]  # case-insensitive lookups (httpx.Headers, aiohttp's CIMultiDict)
    body: bytes

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


class CounterTransportError(Exception):
    """No answer: the connection failed or the call timed out."""

    def __init__(self, reason: str, *, timeout: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.timeout = timeout


class CounterHttp(Protocol):
    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> CounterResponse: ...

    async def aclose(self) -> None: ...


class HttpxCounterHttp:
    """Over a shared `httpx.AsyncClient` it does not own (the lifespan closes that one)."""

    def __init__(self, http: httpx.AsyncClient, *, timeout_s: float) -> None:
        self._http = http
        self._timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, CONNECT_TIMEOUT_S))

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> CounterResponse:
        try:
            response = await self._http.request(
                method, url, content=body, params=params, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException as exc:
            raise CounterTransportError(type(exc).__name__, timeout=True) from None
        except httpx.HTTPError as exc:
            raise CounterTransportError(type(exc).__name__) from None
        return CounterResponse(response.status_code, response.headers, response.content)

    async def aclose(self) -> None:
        return None


class AiohttpCounterHttp:
    """An aiohttp pool of its own, created lazily inside the running loop; `aclose` it."""

    def __init__(self, *, timeout_s: float, pool_size: int = POOL_SIZE) -> None:
        self._pool = LazyAiohttpSession(
            timeout_s=timeout_s, connect_timeout_s=CONNECT_TIMEOUT_S, limit=pool_size
        )

    async def request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None,
        params: Mapping[str, str] | None,
        headers: Mapping[str, str],
    ) -> CounterResponse:
        session = self._pool.get()
        try:
            async with session.request(
                method, url, data=body, params=params, headers=headers
            ) as response:
                return CounterResponse(response.status, response.headers, await response.read())
        except TimeoutError:
            raise CounterTransportError("timeout", timeout=True) from None
        except aiohttp.ClientError as exc:
            raise CounterTransportError(type(exc).__name__) from None

    async def aclose(self) -> None:
        await self._pool.aclose()
