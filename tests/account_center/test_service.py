"""The query service: the fan's own binding only, and a cache never shared across fans."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.account_center import errors, service
from app.account_center.cache import DefaultAccountHints, cache_key
from app.account_center.constants import QueryKind
from app.accounts import service as accounts_service
from app.accounts.binding_cache import invalidate_bindings
from app.accounts.constants import UnbindReason
from app.accounts.models import AccountBinding
from app.accounts.schemas import BindingRead
from app.brokerage.fake import InMemoryBrokerageGateway
from app.core.db import create_engine, create_sessionmaker, unit_of_work
from app.core.redis import Redis, create_redis
from app.core.time import FakeClock
from tests.accounts.helpers import OPENID_A, OPENID_B, ZHANG, ZHANG_CASH

REASON = UnbindReason.PAGE


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


class TestPrefetch:
    async def test_prefetch_names_the_binding_cache_then_the_last_account_of_this_fan(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(service, "HINTS", DefaultAccountHints())
        await make_binding(sessionmaker, OPENID_A, clock)
        deps = service.QueryDeps(
            gateway=InMemoryBrokerageGateway(clock=clock), redis=redis, clock=clock
        )
        kinds = [QueryKind.POSITIONS]
        binding_keys = list(accounts_service.binding_cache_keys(OPENID_A))
        assert service.prefetch_keys(OPENID_A, kinds) == binding_keys  # nothing known yet

        await service.run_query(sessionmaker, kind=QueryKind.ASSETS, openid=OPENID_A, deps=deps)

        entry = cache_key(QueryKind.POSITIONS, openid=OPENID_A, account_id=ZHANG_CASH.account_id)
        assert service.prefetch_keys(OPENID_A, kinds) == [*binding_keys, entry]
        assert all(k not in service.prefetch_keys(OPENID_B, kinds) for k in [entry, *binding_keys])

    async def test_a_warm_query_with_prefetched_values_needs_neither_redis_nor_the_database(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, clock: FakeClock
    ) -> None:
        await make_binding(sessionmaker, OPENID_A, clock)
        gateway = InMemoryBrokerageGateway(clock=clock)
        deps = service.QueryDeps(gateway=gateway, redis=redis, clock=clock)
        kind = QueryKind.POSITIONS
        first = await service.run_query(sessionmaker, kind=kind, openid=OPENID_A, deps=deps)
        keys = service.prefetch_keys(OPENID_A, [kind])
        prefetched = dict(zip(keys, await redis.mget(keys), strict=True))

        broken_redis = create_redis("redis://127.0.0.1:1/0")
        broken_db = create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none")
        try:
            offline = service.QueryDeps(
                gateway=gateway, redis=broken_redis, clock=clock, prefetched=prefetched
            )
            second = await service.run_query(
                create_sessionmaker(broken_db), kind=kind, openid=OPENID_A, deps=offline
            )
        finally:
            await broken_redis.aclose()
            await broken_db.dispose()
        assert second.from_cache
        assert (second.binding, second.data) == (first.binding, first.data)
        assert gateway.calls["get_positions"] == 1

    async def test_prefetched_values_of_a_changed_binding_are_not_served(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, clock: FakeClock
    ) -> None:
        binding_id = await make_binding(sessionmaker, OPENID_A, clock)
        deps = service.QueryDeps(
            gateway=InMemoryBrokerageGateway(clock=clock), redis=redis, clock=clock
        )
        await service.run_query(sessionmaker, kind=QueryKind.ASSETS, openid=OPENID_A, deps=deps)
        keys = service.prefetch_keys(OPENID_A, [QueryKind.ASSETS])
        stale = dict(zip(keys, await redis.mget(keys), strict=True))
        async with unit_of_work(sessionmaker) as session:
            await accounts_service.unbind(
                session, openid=OPENID_A, binding_id=binding_id, reason=REASON, now=clock.now()
            )
        await invalidate_bindings(redis, OPENID_A)  # what every binding change does

        # The generation moved on: the stale list is refused; the fan's bindings are re-read.
        with pytest.raises(errors.NotBoundError):
            await service.run_query(
                sessionmaker,
                kind=QueryKind.ASSETS,
                openid=OPENID_A,
                deps=replace(deps, prefetched=stale | {keys[0]: await redis.get(keys[0])}),
            )


class TestDefaultAccountHints:
    def test_the_hints_stay_bounded_and_keep_the_newest(self) -> None:
        hints = DefaultAccountHints(max_entries=4)
        for i in range(9):
            hints.remember(f"o{i}", f"A{i}")
        hints.remember("o8", "B8")  # the fan's default changed

        known = [i for i in range(9) if hints.get(f"o{i}") is not None]
        assert len(known) <= 4
        assert hints.get("o8") == "B8"
        assert hints.get("o0") is None
