"""The eight account queries: resolve the fan's own binding, read the counter, cache per fan.

Authorisation lives here: every query takes the openid and resolves the account from that
fan's binding (the default one, or one of the fan's own by id). Nothing a fan sends can name
another fan's account: a foreign binding id is simply not found.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.account_center import errors
from app.account_center.cache import Cached, DefaultAccountHints, FanCache, cache_key
from app.account_center.constants import CACHE_TTL_S, QueryKind
from app.accounts import errors as accounts_errors
from app.accounts import service as accounts_service
from app.accounts.schemas import BindingRead
from app.brokerage import errors as counter
from app.brokerage.gateway import (
    Assets,
    BrokerageGateway,
    FundFlow,
    HoldingPnl,
    IpoSubscription,
    Liabilities,
    Order,
    PersonalInfo,
    Position,
)
from app.core.redis import Redis
from app.core.security import mask_openid
from app.core.time import Clock

log = logging.getLogger(__name__)
MARGIN = "margin"

Fetch = Callable[[BrokerageGateway, BindingRead], Awaitable[Any]]


def _ids(b: BindingRead) -> dict[str, str]:
    return {"client_id": b.client_id, "account_id": b.account_id}


FETCHERS: dict[QueryKind, tuple[Fetch, TypeAdapter[Any]]] = {
    QueryKind.PERSONAL_INFO: (
        lambda g, b: g.get_personal_info(client_id=b.client_id),
        TypeAdapter(PersonalInfo),
    ),
    QueryKind.ASSETS: (lambda g, b: g.get_assets(**_ids(b)), TypeAdapter(Assets)),
    QueryKind.LIABILITIES: (lambda g, b: g.get_liabilities(**_ids(b)), TypeAdapter(Liabilities)),
    QueryKind.POSITIONS: (lambda g, b: g.get_positions(**_ids(b)), TypeAdapter(list[Position])),
    QueryKind.PNL: (lambda g, b: g.get_holding_pnl(**_ids(b)), TypeAdapter(HoldingPnl)),
    QueryKind.ORDERS: (lambda g, b: g.get_today_orders(**_ids(b)), TypeAdapter(list[Order])),
    QueryKind.FUND_FLOWS: (
        lambda g, b: g.get_today_fund_flows(**_ids(b)),
        TypeAdapter(list[FundFlow]),
    ),
    QueryKind.IPO: (
        lambda g, b: g.get_ipo_subscriptions(**_ids(b)),
        TypeAdapter(list[IpoSubscription]),
    ),
}


@dataclass(frozen=True, slots=True)
class QueryResult:
    kind: QueryKind
    binding: BindingRead
    bindings_count: int
    data: Any
    fetched_at: datetime
    from_cache: bool


@dataclass(frozen=True, slots=True)
class QueryDeps:
    """What a query needs besides the database: the counter, Redis and the clock.

    `prefetched`: Redis values already read for this query (see `prefetch_keys`).
    """

    gateway: BrokerageGateway
    redis: Redis
    clock: Clock
    cache_ttl_s: int = CACHE_TTL_S
    prefetched: Mapping[str, bytes | None] | None = None


# Which account each fan's menu queries ran on last, so the webhook can prefetch its entries.
HINTS = DefaultAccountHints()


def prefetch_keys(openid: str, kinds: Sequence[QueryKind]) -> list[str]:
    """The Redis keys a menu query for `openid` reads: the fan's binding cache, and the counter
    cache entries of the account the fan's queries last ran on (when this process knows it)."""
    keys = list(accounts_service.binding_cache_keys(openid))
    account_id = HINTS.get(openid)
    if account_id is not None:
        keys += [cache_key(kind, openid=openid, account_id=account_id) for kind in kinds]
    return keys


async def resolve_binding(
    session: AsyncSession, *, openid: str, binding_id: int | None = None
) -> tuple[BindingRead, int]:
    """The fan's own binding to query (and how many they have). NotBoundError when none."""
    bindings = await accounts_service.list_bindings(session, openid=openid)  # default first
    return choose_binding(bindings, binding_id=binding_id)


def choose_binding(
    bindings: list[BindingRead], *, binding_id: int | None = None
) -> tuple[BindingRead, int]:
    """From the fan's own bindings (default first): the one asked for, else the default."""
    if binding_id is not None:
        chosen = next((b for b in bindings if b.id == binding_id), None)
        if chosen is None:  # another fan's id, or an unbound one: simply not found
            raise accounts_errors.BindingNotFoundError()
        return chosen, len(bindings)
    if not bindings:
        raise errors.NotBoundError()
    return bindings[0], len(bindings)


async def fetch(
    kind: QueryKind, *, openid: str, binding: BindingRead, deps: QueryDeps
) -> tuple[Any, datetime, bool]:
    """(data, fetched_at, from_cache) for one query on one of the fan's own bindings."""
    if binding.openid != openid:  # defence in depth: callers resolve bindings by openid
        raise errors.NotBoundError()
    call, adapter = FETCHERS[kind]
    cache = FanCache(deps.redis, deps.cache_ttl_s, deps.clock)
    key = cache_key(kind, openid=openid, account_id=binding.account_id)
    hit = await cache.get(key, adapter, deps.prefetched)
    if hit is not None:
        return hit.data, hit.fetched_at, True
    try:
        data = await call(deps.gateway, binding)
    except counter.MaintenanceError as exc:
        raise errors.CounterMaintenanceError(exc.window_end) from exc
    except counter.UnknownAccountError as exc:
        log.warning("account_center.account_gone", extra={"openid": mask_openid(openid)})
        raise errors.AccountGoneError() from exc
    except counter.BrokerageError as exc:
        log.warning(
            "account_center.counter_failed",
            extra={"kind": str(kind), "code": exc.code, "openid": mask_openid(openid)},
        )
        raise errors.CounterUnavailableError() from exc
    fetched_at = deps.clock.now()
    await cache.put(key, adapter, Cached(data, fetched_at))
    return data, fetched_at, False


async def run_query(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    kind: QueryKind,
    openid: str,
    deps: QueryDeps,
    binding_id: int | None = None,
) -> QueryResult:
    """Resolve the fan's binding (no transaction held over the counter call), then fetch."""
    # The fan's own bindings, from the per-fan binding cache (PostgreSQL on a miss).
    bindings = await accounts_service.list_bindings_cached(
        sessionmaker, deps.redis, openid=openid, prefetched=deps.prefetched
    )
    binding, count = choose_binding(bindings, binding_id=binding_id)
    if binding_id is None:
        HINTS.remember(openid, binding.account_id)
    data, fetched_at, cached = await fetch(kind, openid=openid, binding=binding, deps=deps)
    return QueryResult(kind, binding, count, data, fetched_at, cached)


@dataclass(frozen=True, slots=True)
class OverviewResult:
    assets: QueryResult
    liabilities: QueryResult | None  # margin accounts only


async def run_overview(
    sessionmaker: async_sessionmaker[AsyncSession], *, openid: str, deps: QueryDeps
) -> OverviewResult:
    """The menu's "账户总览": assets, plus the debt when the default account is a margin one."""
    assets = await run_query(sessionmaker, kind=QueryKind.ASSETS, openid=openid, deps=deps)
    if assets.binding.account_type != MARGIN:
        return OverviewResult(assets, None)
    data, fetched_at, cached = await fetch(
        QueryKind.LIABILITIES, openid=openid, binding=assets.binding, deps=deps
    )
    debt = QueryResult(
        QueryKind.LIABILITIES, assets.binding, assets.bindings_count, data, fetched_at, cached
    )
    return OverviewResult(assets, debt)
