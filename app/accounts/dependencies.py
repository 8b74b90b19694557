"""FastAPI dependencies of the H5 binding pages: the fan's session, CSRF, adapters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from app.accounts import constants as c
from app.accounts import errors, service
from app.accounts.ratelimit import RateLimiter
from app.accounts.schemas import FanSession
from app.brokerage.gateway import BrokerageGateway
from app.core.time import Clock
from app.wechat.client import WeChatClient


def get_gateway(request: Request) -> BrokerageGateway:
    gateway: BrokerageGateway = request.app.state.brokerage
    return gateway


def get_wechat(request: Request) -> WeChatClient:
    wechat: WeChatClient = request.app.state.wechat
    return wechat


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_limiter(request: Request) -> RateLimiter:
    return RateLimiter(request.app.state.redis, request.app.state.clock)


def get_optional_fan(request: Request) -> FanSession | None:
    return service.read_session(
        settings=request.app.state.settings,
        clock=request.app.state.clock,
        cookie=request.cookies.get(c.SESSION_COOKIE),
    )


def get_fan(fan: Annotated[FanSession | None, Depends(get_optional_fan)]) -> FanSession:
    if fan is None:
        raise errors.SessionRequiredError()
    return fan


def get_csrf_fan(
    fan: Annotated[FanSession, Depends(get_fan)],
    token: Annotated[str | None, Header(alias=c.CSRF_HEADER)] = None,
) -> FanSession:
    """State-changing calls: the session plus the page's CSRF token."""
    service.check_csrf(fan, token)
    return fan


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


GatewayDep = Annotated[BrokerageGateway, Depends(get_gateway)]
WeChatDep = Annotated[WeChatClient, Depends(get_wechat)]
ClockDep = Annotated[Clock, Depends(get_clock)]
LimiterDep = Annotated[RateLimiter, Depends(get_limiter)]
OptionalFanDep = Annotated[FanSession | None, Depends(get_optional_fan)]
FanDep = Annotated[FanSession, Depends(get_fan)]
CsrfFanDep = Annotated[FanSession, Depends(get_csrf_fan)]
ClientIpDep = Annotated[str, Depends(client_ip)]
