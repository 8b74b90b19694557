"""Fault and latency injection for the simulated API paths (admin API: /_admin/faults, /latency)."""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import orjson
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from app.simulator.config import Sleep
from app.simulator.errors import ERRMSG

API_PREFIXES = ("/cgi-bin/", "/sns/")
Distribution = Literal["fixed", "uniform", "lognormal"]


@dataclass
class Latency:
    """Added before every API call: fixed, fixed + U(0, jitter), or lognormal around fixed."""

    fixed_ms: float = 0.0
    jitter_ms: float = 0.0
    distribution: Distribution = "fixed"

    def sample_s(self, rng: random.Random) -> float:
        if self.distribution == "uniform":
            ms = self.fixed_ms + rng.uniform(0.0, self.jitter_ms)
        elif self.distribution == "lognormal" and self.fixed_ms > 0:
            # Median fixed_ms; jitter_ms sets the spread (sigma = ln(1 + jitter/fixed)).
            sigma = math.log1p(self.jitter_ms / self.fixed_ms)
            ms = rng.lognormvariate(math.log(self.fixed_ms), sigma)
        else:
            ms = self.fixed_ms
        return max(0.0, ms) / 1000.0


@dataclass
class FaultRule:
    id: int
    path: str  # "*" or an API path such as "/cgi-bin/message/template/send"
    errcode: int | None = None
    http_status: int | None = None
    timeout: bool = False
    rate: float = 1.0
    count: int | None = None  # remaining triggers; None = unlimited
    latency_ms: float | None = None
    hang_s: float = 30.0

    @property
    def breaks_call(self) -> bool:
        return self.timeout or self.http_status is not None or self.errcode is not None

    def describe(self) -> dict[str, Any]:
        return asdict(self)


class Faults:
    """Active rules; the first rule that matches a call and wins its dice roll applies."""

    def __init__(self) -> None:
        self.rules: list[FaultRule] = []
        self.latency = Latency()
        self._next_id = 1
        self._release = asyncio.Event()
        self.hanging = 0
        self.hang_started = asyncio.Event()

    def add(self, **fields: Any) -> FaultRule:
        rule = FaultRule(id=self._next_id, **fields)
        self._next_id += 1
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Drop every rule and release calls hanging in an injected timeout."""
        self.rules.clear()
        self._release.set()
        self._release = asyncio.Event()

    def pick(self, path: str, rng: random.Random) -> FaultRule | None:
        for rule in self.rules:
            if rule.path not in ("*", path) or rng.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
                if rule.count <= 0:
                    self.rules.remove(rule)
            return rule
        return None

    async def hang(self, seconds: float) -> None:
        """Hold the call (longer than any client timeout), until released or `seconds` pass."""
        release = self._release
        self.hanging += 1
        self.hang_started.set()
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), seconds)
        finally:
            self.hanging -= 1


def route_path(scope: Scope) -> str:
    """The path inside this app, also when mounted (Starlette keeps the full path)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def errcode_response(errcode: int) -> Response:
    body = {"errcode": errcode, "errmsg": ERRMSG.get(errcode, "injected fault")}
    return Response(orjson.dumps(body), media_type="application/json")


class FaultMiddleware:
    """Pure ASGI (cheap at 500 concurrent calls): count, delay, then maybe break the call."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        faults: Faults,
        rng: random.Random,
        sleep: Sleep,
        max_hang_s: float,
        on_call: Callable[[str], None],
        on_error: Callable[[int | str], None],
    ) -> None:
        self.app = app
        self.faults, self.rng, self.sleep = faults, rng, sleep
        self.max_hang_s = max_hang_s
        self.on_call, self.on_error = on_call, on_error

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = route_path(scope) if scope["type"] == "http" else ""
        if not path.startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        self.on_call(path)
        delay = self.faults.latency.sample_s(self.rng)
        rule = self.faults.pick(path, self.rng)
        if rule is not None and rule.latency_ms:
            delay += rule.latency_ms / 1000.0
        if delay > 0:
            await self.sleep(delay)  # no lock is held here: calls overlap freely
        if rule is None or not rule.breaks_call:
            await self.app(scope, receive, send)
            return
        response = await self._broken_response(rule)
        await response(scope, receive, send)

    async def _broken_response(self, rule: FaultRule) -> Response:
        if rule.timeout:
            await self.faults.hang(min(rule.hang_s, self.max_hang_s))
            self.on_error(-1)
            return errcode_response(-1)
        if rule.http_status is not None:
            self.on_error(f"http_{rule.http_status}")
            return PlainTextResponse("simulated upstream failure", status_code=rule.http_status)
        assert rule.errcode is not None
        self.on_error(rule.errcode)
        return errcode_response(rule.errcode)
