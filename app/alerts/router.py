"""HTTP API of alerts: signed ingest, ticks, broadcasts, segments, fan preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from app.alerts import idempotency, service
from app.alerts.constants import REPLAYED_HEADER
from app.alerts.dependencies import FanOutConfigDep, IdempotencyKey, SignedBody
from app.alerts.schemas import (
    AlertAccepted,
    BatchAccepted,
    PreferencesRead,
    SegmentUpdated,
    TicksAccepted,
    WatchlistItemRead,
)
from app.core.deps import SessionDep
from app.core.routing import CommitBeforeResponseRoute

router = APIRouter(prefix="/api/v1", tags=["alerts"], route_class=CommitBeforeResponseRoute)

OpenIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{6,64}$")]
SecurityPath = Annotated[str, Path(pattern=r"^[0-9A-Z]{5,6}$")]
SegmentPath = Annotated[str, Path(pattern=r"^[a-z0-9_.-]{1,64}$")]


def _respond(outcome: idempotency.Outcome) -> JSONResponse:
    headers = {REPLAYED_HEADER: "true"} if outcome.replayed else {}
    return JSONResponse(outcome.body, status_code=outcome.status_code, headers=headers)


@router.post("/alerts", status_code=201, response_model=AlertAccepted)
async def post_alert(
    request: Request,
    body: SignedBody,
    key: IdempotencyKey,
    session: SessionDep,
    config: FanOutConfigDep,
) -> JSONResponse:
    now = request.app.state.clock.now()
    return _respond(await service.ingest_alert(session, body=body, key=key, now=now, config=config))


@router.post("/alerts:batch", status_code=201, response_model=BatchAccepted)
async def post_alert_batch(
    request: Request,
    body: SignedBody,
    key: IdempotencyKey,
    session: SessionDep,
    config: FanOutConfigDep,
) -> JSONResponse:
    now = request.app.state.clock.now()
    return _respond(await service.ingest_batch(session, body=body, key=key, now=now, config=config))


@router.post("/ticks", status_code=202, response_model=TicksAccepted)
async def post_ticks(
    request: Request,
    body: SignedBody,
    key: IdempotencyKey,
    session: SessionDep,
    config: FanOutConfigDep,
) -> JSONResponse:
    now = request.app.state.clock.now()
    return _respond(await service.ingest_ticks(session, body=body, key=key, now=now, config=config))


@router.post("/broadcasts", status_code=201, response_model=AlertAccepted)
async def post_broadcast(
    request: Request,
    body: SignedBody,
    key: IdempotencyKey,
    session: SessionDep,
    config: FanOutConfigDep,
) -> JSONResponse:
    now = request.app.state.clock.now()
    return _respond(await service.broadcast(session, body=body, key=key, now=now, config=config))


@router.put("/segments/{segment}/members")
async def put_segment_members(
    segment: SegmentPath, body: SignedBody, session: SessionDep
) -> SegmentUpdated:
    return await service.set_segment_members(session, segment=segment, body=body)


@router.get("/fans/{openid}/preferences")
async def get_preferences(
    openid: OpenIdPath, _body: SignedBody, session: SessionDep
) -> PreferencesRead:
    return await service.get_preferences(session, openid=openid)


@router.put("/fans/{openid}/preferences")
async def put_preferences(
    openid: OpenIdPath, body: SignedBody, session: SessionDep
) -> PreferencesRead:
    return await service.update_preferences_from_body(session, openid=openid, body=body)


@router.get("/fans/{openid}/watchlist")
async def get_watchlist(
    openid: OpenIdPath, _body: SignedBody, session: SessionDep
) -> list[WatchlistItemRead]:
    return await service.list_watchlist(session, openid=openid)


@router.put("/fans/{openid}/watchlist/{security_code}")
async def put_watchlist_item(
    openid: OpenIdPath, security_code: SecurityPath, body: SignedBody, session: SessionDep
) -> list[WatchlistItemRead]:
    return await service.watch_from_body(
        session, openid=openid, security_code=security_code, body=body
    )


@router.delete("/fans/{openid}/watchlist/{security_code}", status_code=204)
async def delete_watchlist_item(
    openid: OpenIdPath, security_code: SecurityPath, _body: SignedBody, session: SessionDep
) -> None:
    await service.unwatch(session, openid=openid, security_code=security_code)
