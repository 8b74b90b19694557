"""Ops API under /api/v1/ops: sessions, staff, API keys, audit, pushes, dashboard, fans."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam

from app.alerts import service as alerts_service
from app.core.deps import RedisDep, SessionDep, SettingsDep
from app.core.routing import CommitBeforeResponseRoute
from app.core.security import constant_time_equals
from app.ops import dashboard, pushes, service
from app.ops.constants import (
    API_PREFIX,
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_S,
    DraftStatus,
    RequestKind,
)
from app.ops.dependencies import AdminDep, ApproverDep, OperatorDep, ViewerDep, client_ip
from app.ops.errors import CsrfError
from app.ops.models import PushDraft
from app.ops.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    ApprovalRequestRead,
    AuditEntryRead,
    AuditVerifyRead,
    DashboardRead,
    DeadLettersRead,
    DraftCreate,
    DraftDecision,
    DraftDetail,
    DraftRead,
    FanDetail,
    FanSummary,
    LoginCsrfRead,
    LoginRequest,
    MenuPublishCreate,
    MeRead,
    PasswordChange,
    Principal,
    RedriveRead,
    StaffCreate,
    StaffRead,
    StaffUpdate,
)
from app.push import service as push_service

router = APIRouter(prefix=API_PREFIX, tags=["ops"], route_class=CommitBeforeResponseRoute)
Id = Annotated[int, PathParam(ge=1, le=2**63 - 1)]


def _now(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.clock.now()


def fan_out_config(settings: SettingsDep) -> alerts_service.FanOutConfig:
    return pushes.fan_out_config(settings)


def _me(principal: Principal) -> MeRead:
    return MeRead(
        ref=principal.ref,
        name=principal.name,
        role=principal.role,
        via=principal.via,
        staff_id=principal.staff_id,
        csrf_token=principal.csrf_token,
    )


# ---- sessions ----


@router.get("/session/csrf")
async def login_csrf(response: Response, settings: SettingsDep) -> LoginCsrfRead:
    """Double-submit token for the login form (login CSRF): cookie + the same value in a header."""
    token = secrets.token_urlsafe(24)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=not settings.is_dev,
        samesite="strict",
        path=API_PREFIX,
    )
    return LoginCsrfRead(csrf_token=token)


@router.post("/session")
async def login(
    request: Request,
    body: LoginRequest,
    response: Response,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> MeRead:
    sent, cookie = request.headers.get(CSRF_HEADER, ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not sent or not cookie or not constant_time_equals(sent, cookie):
        raise CsrfError()
    token, principal = await service.login(
        session,
        redis,
        username=body.username,
        password=body.password,
        ip=client_ip(request),
        now=_now(request),
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=SESSION_TTL_S,
        httponly=True,
        secure=not settings.is_dev,
        samesite="lax",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=API_PREFIX)
    return _me(principal)


@router.delete("/session", status_code=204)
async def logout(
    request: Request, principal: ViewerDep, session: SessionDep, redis: RedisDep
) -> Response:
    await service.logout(
        session,
        redis,
        actor=principal,
        token=request.cookies.get(SESSION_COOKIE),
        now=_now(request),
    )
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me")
async def me(principal: ViewerDep) -> MeRead:
    return _me(principal)


@router.post("/me/password", status_code=204)
async def change_password(
    request: Request, body: PasswordChange, principal: ViewerDep, session: SessionDep
) -> None:
    await service.change_own_password(
        session,
        actor=principal,
        current=body.current_password,
        new=body.new_password,
        now=_now(request),
    )


# ---- staff and API keys (admin) ----


@router.get("/staff")
async def list_staff(_: AdminDep, session: SessionDep) -> list[StaffRead]:
    return [
        StaffRead.model_validate(u, from_attributes=True) for u in await service.list_staff(session)
    ]


@router.post("/staff", status_code=201)
async def create_staff(
    request: Request, body: StaffCreate, principal: AdminDep, session: SessionDep
) -> StaffRead:
    user = await service.create_staff(session, actor=principal, data=body, now=_now(request))
    return StaffRead.model_validate(user, from_attributes=True)


@router.patch("/staff/{staff_id}")
async def update_staff(
    request: Request, staff_id: Id, body: StaffUpdate, principal: AdminDep, session: SessionDep
) -> StaffRead:
    user = await service.update_staff(
        session, actor=principal, staff_id=staff_id, data=body, now=_now(request)
    )
    return StaffRead.model_validate(user, from_attributes=True)


@router.get("/api-keys")
async def list_api_keys(_: AdminDep, session: SessionDep) -> list[ApiKeyRead]:
    keys = await service.list_api_keys(session)
    return [ApiKeyRead.model_validate(k, from_attributes=True) for k in keys]


@router.post("/api-keys", status_code=201)
async def create_api_key(
    request: Request, body: ApiKeyCreate, principal: AdminDep, session: SessionDep
) -> ApiKeyCreated:
    key, raw = await service.create_api_key(session, actor=principal, data=body, now=_now(request))
    return ApiKeyCreated(
        **ApiKeyRead.model_validate(key, from_attributes=True).model_dump(), key=raw
    )


@router.delete("/api-keys/{key_id}")
async def revoke_api_key(
    request: Request, key_id: Id, principal: AdminDep, session: SessionDep
) -> ApiKeyRead:
    key = await service.revoke_api_key(session, actor=principal, key_id=key_id, now=_now(request))
    return ApiKeyRead.model_validate(key, from_attributes=True)


# ---- audit (admin) ----


@router.get("/audit")
async def list_audit(
    _: AdminDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before_seq: Annotated[int | None, Query(ge=1)] = None,
    target_type: Annotated[str | None, Query(max_length=64)] = None,
    target_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[AuditEntryRead]:
    rows = await service.list_audit(
        session, limit=limit, before_seq=before_seq, target_type=target_type, target_id=target_id
    )
    return [AuditEntryRead.model_validate(r, from_attributes=True) for r in rows]


@router.get("/audit/verify")
async def verify_audit(_: AdminDep, session: SessionDep) -> AuditVerifyRead:
    report = await service.verify_audit_chain(session)
    return AuditVerifyRead(
        ok=report.ok, rows=report.rows, first_bad_seq=report.first_bad_seq, reason=report.reason
    )


# ---- pushes ----


def _draft(draft: PushDraft) -> DraftRead:
    return DraftRead.model_validate(draft, from_attributes=True)


@router.get("/pushes")
async def list_pushes(
    _: ViewerDep,
    session: SessionDep,
    status: DraftStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DraftRead]:
    drafts = await pushes.list_drafts(session, status=status, limit=limit)
    return [_draft(d) for d in drafts]


@router.post("/pushes", status_code=201)
async def create_push(
    request: Request, body: DraftCreate, principal: OperatorDep, session: SessionDep
) -> DraftRead:
    return _draft(await pushes.create_draft(session, actor=principal, data=body, now=_now(request)))


@router.get("/pushes/{draft_id}")
async def get_push(
    request: Request,
    draft_id: Id,
    _: ViewerDep,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
) -> DraftDetail:
    """The draft, its preview while unsent (card, recipients now, quota), progress once sent."""
    draft = await pushes.get_draft(session, draft_id)
    now = _now(request)
    preview = None
    if draft.alert_id is None and draft.status in (
        DraftStatus.PENDING_APPROVAL,
        DraftStatus.SCHEDULED,
    ):
        quota = await dashboard.quota_status(
            session, redis=redis, wechat=request.app.state.wechat, now=now
        )
        preview = await pushes.preview_draft(
            session, draft, now=now, config=fan_out_config(settings), quota=quota
        )
    return DraftDetail(
        **_draft(draft).model_dump(),
        preview=preview,
        progress=await pushes.progress(session, draft),
    )


@router.post("/pushes/{draft_id}/approve")
async def approve_push(
    request: Request,
    draft_id: Id,
    principal: ApproverDep,
    session: SessionDep,
    settings: SettingsDep,
    body: DraftDecision | None = None,
) -> DraftRead:
    draft = await pushes.approve_draft(
        session,
        actor=principal,
        draft_id=draft_id,
        now=_now(request),
        config=fan_out_config(settings),
        note=body.note if body else None,
    )
    return _draft(draft)


@router.post("/pushes/{draft_id}/reject")
async def reject_push(
    request: Request,
    draft_id: Id,
    principal: ApproverDep,
    session: SessionDep,
    body: DraftDecision | None = None,
) -> DraftRead:
    draft = await pushes.close_draft(
        session,
        actor=principal,
        draft_id=draft_id,
        reject=True,
        now=_now(request),
        note=body.note if body else None,
    )
    return _draft(draft)


@router.post("/pushes/{draft_id}/cancel")
async def cancel_push(
    request: Request,
    draft_id: Id,
    principal: OperatorDep,
    session: SessionDep,
    body: DraftDecision | None = None,
) -> DraftRead:
    draft = await pushes.close_draft(
        session,
        actor=principal,
        draft_id=draft_id,
        reject=False,
        now=_now(request),
        note=body.note if body else None,
    )
    return _draft(draft)


@router.get("/dead-letters")
async def dead_letters(
    _: ViewerDep,
    session: SessionDep,
    redis: RedisDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> DeadLettersRead:
    """Dead-lettered template sends from PostgreSQL (masked), and the Redis list's length."""
    return await dashboard.dead_letters(session, redis, limit=limit, offset=offset)


@router.post("/dead-letters/redrive")
async def redrive_dead_letters(
    request: Request, principal: OperatorDep, session: SessionDep, redis: RedisDep
) -> RedriveRead:
    """Put dead-lettered sends back in the queue (after fixing what failed them). Audited."""
    now = _now(request)
    count = await push_service.redrive_dead_letters(
        request.app.state.sessionmaker, redis, clock=request.app.state.clock
    )
    await service.record_audit(
        session,
        actor=principal,
        action="push.dead_letters.redrive",
        target_type="dead_letters",
        after={"redriven": count},
        now=now,
    )
    return RedriveRead(redriven=count)


@router.post("/dead-letters/{delivery_id}/redrive")
async def redrive_dead_letter(
    request: Request, delivery_id: Id, principal: OperatorDep, session: SessionDep
) -> RedriveRead:
    """Re-drive one dead-lettered send (409 for any other delivery). Audited."""
    await dashboard.redrive_dead_letter(
        session, actor=principal, delivery_id=delivery_id, now=_now(request)
    )
    return RedriveRead(redriven=1)


# ---- dashboard and fans ----


@router.get("/dashboard")
async def get_dashboard(
    request: Request, _: ViewerDep, session: SessionDep, redis: RedisDep
) -> DashboardRead:
    return await dashboard.build_dashboard(
        session, redis=redis, wechat=request.app.state.wechat, now=_now(request)
    )


@router.get("/fans")
async def search_fans(
    request: Request,
    principal: ViewerDep,
    session: SessionDep,
    q: Annotated[str, Query(min_length=4, max_length=64)],
) -> list[FanSummary]:
    return await dashboard.search_fans(session, actor=principal, query=q, now=_now(request))


@router.get("/fans/{fan_id}")
async def get_fan(
    request: Request, fan_id: Id, principal: ViewerDep, session: SessionDep
) -> FanDetail:
    return await dashboard.view_fan(session, actor=principal, fan_id=fan_id, now=_now(request))


# ---- menu publication (four-eyes) ----


def _request(row: object) -> ApprovalRequestRead:
    return ApprovalRequestRead.model_validate(row, from_attributes=True)


@router.get("/menu-publications")
async def list_menu_publications(_: ViewerDep, session: SessionDep) -> list[ApprovalRequestRead]:
    rows = await service.list_approval_requests(session, kind=RequestKind.MENU_PUBLISH)
    return [_request(r) for r in rows]


@router.post("/menu-publications", status_code=201)
async def request_menu_publication(
    request: Request, body: MenuPublishCreate, principal: OperatorDep, session: SessionDep
) -> ApprovalRequestRead:
    row = await service.request_menu_publish(
        session, actor=principal, version=body.menu_version, note=body.note, now=_now(request)
    )
    return _request(row)


@router.post("/menu-publications/{request_id}/approve")
async def approve_menu_publication(
    request: Request,
    request_id: Id,
    principal: ApproverDep,
    session: SessionDep,
    settings: SettingsDep,
) -> ApprovalRequestRead:
    row = await service.approve_menu_publish(
        session,
        actor=principal,
        request_id=request_id,
        wechat=request.app.state.wechat,
        base_url=settings.base_url,
        now=_now(request),
    )
    return _request(row)


@router.post("/menu-publications/{request_id}/reject")
async def reject_menu_publication(
    request: Request, request_id: Id, principal: ApproverDep, session: SessionDep
) -> ApprovalRequestRead:
    row = await service.close_approval_request(
        session, actor=principal, request_id=request_id, reject=True, now=_now(request)
    )
    return _request(row)


@router.post("/menu-publications/{request_id}/cancel")
async def cancel_menu_publication(
    request: Request, request_id: Id, principal: OperatorDep, session: SessionDep
) -> ApprovalRequestRead:
    row = await service.close_approval_request(
        session, actor=principal, request_id=request_id, reject=False, now=_now(request)
    )
    return _request(row)
