"""The query service: the fan's own binding only, and a cache never shared across fans."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.account_center import errors, service
from app.account_center.cache import cache_key
from app.account_center.constants import QueryKind
from app.accounts.models import AccountBinding
from app.accounts.schemas import BindingRead
from app.brokerage.fake import InMemoryBrokerageGateway
from app.core.db import create_sessionmaker, unit_of_work
from app.core.redis import Redis
from app.core.time import FakeClock
from tests.accounts.helpers import OPENID_A, OPENID_B, ZHANG, ZHANG_CASH


@pytest.fixture
def sessionmaker(engine: AsyncEngine, truncate_tables: None) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


async def make_binding(
    sessionmaker: async_sessionmaker[AsyncSession], openid: str, clock: FakeClock
) -> int:
    async with unit_of_work(sessionmaker) as session:
        row = AccountBinding(
            openid=openid,
            client_id=ZHANG.client_id,
            account_id=ZHANG_CASH.account_id,
            account_no_masked="****1001",
            account_type="cash",
            is_default=True,
            consent_version="v",
            consented_at=clock.now(),
            bound_at=clock.now(),
        )
        session.add(row)
        await session.flush()
        return row.id


class TestRunQuery:
    async def test_cache_entries_are_per_fan_even_for_the_same_account(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, clock: FakeClock
    ) -> None:
        await make_binding(sessionmaker, OPENID_A, clock)
        await make_binding(sessionmaker, OPENID_B, clock)
        gateway = InMemoryBrokerageGateway(clock=clock)
        deps = service.QueryDeps(gateway=gateway, redis=redis, clock=clock)
        kind = QueryKind.POSITIONS
        a1 = await service.run_query(sessionmaker, kind=kind, openid=OPENID_A, deps=deps)
        a2 = await service.run_query(sessionmaker, kind=kind, openid=OPENID_A, deps=deps)
        b1 = await service.run_query(sessionmaker, kind=kind, openid=OPENID_B, deps=deps)
        assert (a1.from_cache, a2.from_cache, b1.from_cache) == (False, True, False)
        assert gateway.calls["get_positions"] == 2
        assert cache_key(kind, openid=OPENID_A, account_id="X") != cache_key(
            kind, openid=OPENID_B, account_id="X"
        )

    async def test_unbound_fan_raises_not_bound(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, clock: FakeClock
    ) -> None:
        deps = service.QueryDeps(
            gateway=InMemoryBrokerageGateway(clock=clock), redis=redis, clock=clock
        )
        with pytest.raises(errors.NotBoundError):
            await service.run_query(sessionmaker, kind=QueryKind.ASSETS, openid=OPENID_A, deps=deps)

    async def test_fetch_refuses_a_binding_of_another_fan(
        self, redis: Redis, clock: FakeClock
    ) -> None:
        deps = service.QueryDeps(
            gateway=InMemoryBrokerageGateway(clock=clock), redis=redis, clock=clock
        )
        foreign = BindingRead(
            id=1,
            openid=OPENID_A,
            client_id=ZHANG.client_id,
            account_id=ZHANG_CASH.account_id,
            account_no_masked="****1001",
            account_type="cash",
            is_default=True,
            bound_at=clock.now(),
        )
        with pytest.raises(errors.NotBoundError):
            await service.fetch(QueryKind.ASSETS, openid=OPENID_B, binding=foreign, deps=deps)

    async def test_a_corrupt_cache_entry_is_a_miss(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, clock: FakeClock
    ) -> None:
        await make_binding(sessionmaker, OPENID_A, clock)
        gateway = InMemoryBrokerageGateway(clock=clock)
        deps = service.QueryDeps(gateway=gateway, redis=redis, clock=clock)
        key = cache_key(QueryKind.ASSETS, openid=OPENID_A, account_id=ZHANG_CASH.account_id)
        await redis.set(key, b"{not json")
        result = await service.run_query(
            sessionmaker, kind=QueryKind.ASSETS, openid=OPENID_A, deps=deps
        )
        assert not result.from_cache
        assert gateway.calls["get_assets"] == 1
