"""Liveness, readiness (database + Redis) and Prometheus metrics endpoints."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from app.core.metrics import metrics_endpoint

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])
CHECK_TIMEOUT_S = 2.0


@router.get("/healthz", response_class=PlainTextResponse)
async def healthz() -> str:
    return "ok"


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    checks = {
        "database": await _check(_ping_database(request)),
        "redis": await _check(_ping_redis(request)),
    }
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


async def _ping_database(request: Request) -> None:
    async with request.app.state.sessionmaker() as session:
        await session.execute(text("SELECT 1"))


async def _ping_redis(request: Request) -> None:
    await request.app.state.redis.ping()


async def _check(probe: object) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as exc:  # noqa: BLE001 - readiness reports any failure as "down"
        log.warning("health.check_failed", extra={"error": type(exc).__name__})
        return f"down: {type(exc).__name__}"
    return "ok"


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return await metrics_endpoint(request)
