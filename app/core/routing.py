"""Route class that commits the request's session before the response is sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Receive, Scope, Send


class CommitBeforeResponseRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_then_commit(request: Request) -> Response:
            response = await handle(request)  # a raised AppError never reaches the commit
            session: AsyncSession | None = getattr(request.state, "session", None)
            if session is not None and response.status_code < 400:
                await session.commit()  # a failure here still becomes a 500 the client sees
            return response

        return handle_then_commit


class FastLaneApp(FastAPI):
    """FastAPI plus exact-path ASGI lanes that skip the middleware stack and router matching.

    For endpoints whose per-request cost budget is smaller than the framework's own overhead
    (the WeChat webhook). A lane must never raise: it answers every outcome itself, and it does
    its own request id and request counting.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fast_lanes: dict[str, ASGIApp] = {}

    def add_fast_lane(self, path: str, endpoint: ASGIApp) -> None:
        self.fast_lanes[path] = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            lane = self.fast_lanes.get(scope["path"])
            if lane is not None:
                scope["app"] = self
                await lane(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
