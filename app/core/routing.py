"""Route class that commits the request's session before the response is sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession


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
