"""H5 detail pages: /h5/account/{positions,orders,fund-flows,ipo}[?binding_id=<own binding>]."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from app.account_center import errors, pages, replies, service, texts
from app.account_center.constants import H5_PREFIX, PAGES, QueryKind
from app.accounts import constants as accounts_constants
from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.schemas import FanSession
from app.core.deps import SettingsDep
from app.core.routing import CommitBeforeResponseRoute

router = APIRouter(prefix=H5_PREFIX, route_class=CommitBeforeResponseRoute, tags=["h5-account"])


def get_optional_fan(request: Request) -> FanSession | None:
    return accounts_service.read_session(
        settings=request.app.state.settings,
        clock=request.app.state.clock,
        cookie=request.cookies.get(accounts_constants.SESSION_COOKIE),
    )


def get_deps(request: Request) -> service.QueryDeps:
    state = request.app.state
    return service.QueryDeps(gateway=state.brokerage, redis=state.redis, clock=state.clock)


OptionalFanDep = Annotated[FanSession | None, Depends(get_optional_fan)]
DepsDep = Annotated[service.QueryDeps, Depends(get_deps)]
FAILURES = (
    errors.CounterMaintenanceError,
    errors.CounterUnavailableError,
    errors.AccountGoneError,
)


@router.get("/{page}", response_model=None)
async def detail(
    page: str,
    request: Request,
    fan: OptionalFanDep,
    settings: SettingsDep,
    deps: DepsDep,
    binding_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    """One query as a page, always for the fan's own binding (a foreign id is not found)."""
    kind = PAGES.get(page)
    if kind is None:
        return pages.message_page(texts.TITLES["positions"], texts.NOT_FOUND_PAGE, status_code=404)
    if fan is None:
        start = accounts_service.start_oauth(
            wechat=request.app.state.wechat,
            settings=settings,
            clock=deps.clock,
            return_path=request.url.path,
        )
        return accounts_service.oauth_redirect(start, settings)
    return await _answer(request, kind, fan, deps, binding_id)


async def _answer(
    request: Request,
    kind: QueryKind,
    fan: FanSession,
    deps: service.QueryDeps,
    binding_id: int | None,
) -> Response:
    title = texts.TITLES[kind]
    sessionmaker = request.app.state.sessionmaker
    try:
        result = await service.run_query(
            sessionmaker, kind=kind, openid=fan.openid, deps=deps, binding_id=binding_id
        )
    except errors.NotBoundError:
        link = (accounts_constants.BIND_PAGE_PATH, texts.BIND_LINK)
        return pages.message_page(title, texts.NOT_BOUND_PAGE, link=link)
    except accounts_errors.BindingNotFoundError:
        return pages.message_page(title, texts.NOT_FOUND_PAGE, status_code=404)
    except FAILURES as exc:  # maintenance or down: a polite page, not an error
        return pages.message_page(title, replies.failure_text(exc), status_code=503)
    async with sessionmaker() as session:
        bindings = await accounts_service.list_bindings(session, openid=fan.openid)
    return pages.detail_page(result, bindings)
