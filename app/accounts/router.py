"""H5 binding: GET /h5/bind (OAuth-protected page), the OAuth callback and the page's JSON API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Cookie, Request, Response

from app.accounts import constants as c
from app.accounts import errors, pages, service, texts
from app.accounts.binding_cache import invalidate_bindings
from app.accounts.dependencies import (
    ClientIpDep,
    ClockDep,
    CsrfFanDep,
    FanDep,
    GatewayDep,
    LimiterDep,
    OptionalFanDep,
    WeChatDep,
)
from app.accounts.schemas import (
    BindingView,
    BindRequest,
    BindResult,
    PublicKeyRead,
    SmsCodeRequest,
    SmsCodeSent,
)
from app.core.deps import SessionDep, SettingsDep
from app.core.routing import CommitBeforeResponseRoute

router = APIRouter(prefix="/h5", route_class=CommitBeforeResponseRoute, tags=["h5-binding"])


@router.get(c.BIND_PAGE_PATH.removeprefix("/h5"), response_model=None)
async def bind_page(
    fan: OptionalFanDep,
    session: SessionDep,
    settings: SettingsDep,
    wechat: WeChatDep,
    clock: ClockDep,
) -> Response:
    """The binding page; without a session the fan goes through OAuth (snsapi_base) first."""
    if fan is None:
        start = service.start_oauth(
            wechat=wechat, settings=settings, clock=clock, return_path=c.BIND_PAGE_PATH
        )
        return pages.oauth_redirect(start, settings)
    bindings = await service.list_bindings(session, openid=fan.openid)
    return pages.bind_page(fan, [service.to_view(b) for b in bindings])


@router.get(c.OAUTH_CALLBACK_PATH.removeprefix("/h5"), response_model=None)
async def oauth_callback(
    request: Request,
    settings: SettingsDep,
    wechat: WeChatDep,
    clock: ClockDep,
    nonce: Annotated[str | None, Cookie(alias=c.OAUTH_NONCE_COOKIE)] = None,
) -> Response:
    """WeChat sends the fan back here with `code` and our `state`."""
    try:
        done = await service.complete_oauth(
            wechat=wechat,
            settings=settings,
            clock=clock,
            code=request.query_params.get("code"),
            state=request.query_params.get("state"),
            nonce_cookie=nonce,
        )
    except errors.OAuthError as exc:  # a fan-facing page, not a JSON problem
        return pages.message_page(texts.PAGE_TITLE, exc.detail, exc.status)
    return pages.session_redirect(done.return_path, done.session_cookie, settings)


@router.get("/bind/public-key")
async def public_key(fan: FanDep, gateway: GatewayDep) -> PublicKeyRead:
    return await service.get_public_key(gateway=gateway)


@router.post("/bind/sms-code")
async def sms_code(
    body: SmsCodeRequest,
    fan: CsrfFanDep,
    request: Request,
    ip: ClientIpDep,
    gateway: GatewayDep,
    limiter: LimiterDep,
) -> SmsCodeSent:
    return await service.request_sms_code(
        request.app.state.sessionmaker,
        openid=fan.openid,
        account_no=body.account_no,
        ip=ip,
        gateway=gateway,
        limiter=limiter,
    )


@router.post("/bind/accounts", status_code=201)
async def bind(
    body: BindRequest,
    fan: CsrfFanDep,
    request: Request,
    ip: ClientIpDep,
    gateway: GatewayDep,
    limiter: LimiterDep,
) -> BindResult:
    return await service.bind_account(
        request.app.state.sessionmaker,
        openid=fan.openid,
        request=body,
        ip=ip,
        gateway=gateway,
        limiter=limiter,
    )


@router.get("/bind/accounts")
async def list_accounts(fan: FanDep, session: SessionDep) -> list[BindingView]:
    return [service.to_view(b) for b in await service.list_bindings(session, openid=fan.openid)]


@router.post("/bind/accounts/{binding_id}/default")
async def make_default(
    binding_id: int, fan: CsrfFanDep, session: SessionDep, request: Request
) -> list[BindingView]:
    rows = await service.set_default_binding(session, openid=fan.openid, binding_id=binding_id)
    await session.commit()  # commit first: the cache generation is bumped after the change
    await invalidate_bindings(request.app.state.redis, fan.openid)
    return [service.to_view(b) for b in rows]


@router.delete("/bind/accounts/{binding_id}")
async def unbind(
    binding_id: int, fan: CsrfFanDep, session: SessionDep, clock: ClockDep, request: Request
) -> list[BindingView]:
    await service.unbind(
        session,
        openid=fan.openid,
        binding_id=binding_id,
        reason=c.UnbindReason.PAGE,
        now=clock.now(),
    )
    remaining = await service.list_bindings(session, openid=fan.openid)
    await session.commit()  # commit first: the cache generation is bumped after the change
    await invalidate_bindings(request.app.state.redis, fan.openid)
    return [service.to_view(b) for b in remaining]
