"""The per-fan binding cache: hits, generation invalidation (race-safe), and every change path
(bind, default, unbind from the page, unbind by text) invalidating it through the real app."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
from fastapi import FastAPI

from app.account_center.constants import MENU_KEYS, OVERVIEW_KEY, QueryKind
from app.accounts.binding_cache import (
    BindingCache,
    entry_key,
    generation_key,
    invalidate_bindings,
)
from app.accounts.schemas import BindingRead
from app.core.redis import Redis
from tests.accounts.helpers import (
    OPENID_A,
    OPENID_B,
    ZHANG,
    ZHANG_CASH,
    ZHANG_MARGIN,
    bound_fan,
    click,
    csrf_headers,
    text_xml,
    webhook,
)

POSITIONS_KEY = next(key for key, kind in MENU_KEYS.items() if kind is QueryKind.POSITIONS)
ASSETS_KEY = OVERVIEW_KEY


def shown(reply: dict[str, str]) -> str:
    return "\n".join(reply.values())


def binding(openid: str, binding_id: int = 1, account_id: str = "A1") -> BindingRead:
    return BindingRead(
        id=binding_id,
        openid=openid,
        client_id="C1",
        account_id=account_id,
        account_no_masked="****1001",
        account_type="cash",
        is_default=True,
        bound_at=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
    )


class TestBindingCache:
    async def test_a_stored_list_is_served_until_invalidated(self, redis: Redis) -> None:
        cache = BindingCache(redis)
        cached, generation = await cache.lookup(OPENID_A)
        assert (cached, generation) == (None, 0)
        await cache.store(OPENID_A, 0, [binding(OPENID_A)])
        assert (await cache.lookup(OPENID_A)) == ([binding(OPENID_A)], 0)
        await invalidate_bindings(redis, OPENID_A)
        assert (await cache.lookup(OPENID_A)) == (None, 1)
        assert (await cache.lookup(OPENID_B)) == (None, 0)  # other fans are untouched

    async def test_a_list_read_before_a_change_is_never_served_after_it(self, redis: Redis) -> None:
        cache = BindingCache(redis)
        _, generation = await cache.lookup(OPENID_A)  # a reader starts, reads PostgreSQL...
        assert generation is not None
        await invalidate_bindings(redis, OPENID_A)  # ...a writer commits and invalidates...
        await cache.store(OPENID_A, generation, [binding(OPENID_A)])  # ...the reader stores late
        assert (await cache.lookup(OPENID_A))[0] is None

    async def test_an_entry_naming_another_fan_is_never_served(self, redis: Redis) -> None:
        await redis.set(
            entry_key(OPENID_A),
            orjson.dumps({"gen": 0, "rows": [[1, OPENID_B, "C", "A", "****1", "cash", True,
                                              "2026-01-05T09:30:00+00:00"]]}),
        )  # fmt: skip
        assert (await BindingCache(redis).lookup(OPENID_A))[0] is None

    async def test_garbage_is_a_miss_not_an_error(self, redis: Redis) -> None:
        await redis.set(entry_key(OPENID_A), b"{not json")
        assert (await BindingCache(redis).lookup(OPENID_A)) == (None, 0)
        await redis.set(generation_key(OPENID_A), b"x")
        assert (await BindingCache(redis).lookup(OPENID_A)) == (None, None)


class TestChangesInvalidate:
    async def test_unbind_by_text_is_seen_by_the_next_click(self, h5_app: FastAPI) -> None:
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            before = await click(h5_app, OPENID_A, POSITIONS_KEY)  # caches the binding
            clock = h5_app.state.clock
            await webhook(h5_app, text_xml(OPENID_A, "解绑", 1, int(clock.timestamp())))
            after = await click(h5_app, OPENID_A, POSITIONS_KEY)
        assert "我的持仓" in before["Title"]
        assert "绑定" in after.get("Title", "") + after.get("Content", "")
        assert "我的持仓" not in after.get("Title", "")

    async def test_page_unbind_and_default_are_seen_by_the_next_click(
        self, h5_app: FastAPI
    ) -> None:
        pairs = ((ZHANG_CASH, ZHANG.phone), (ZHANG_MARGIN, ZHANG.phone))
        async with bound_fan(h5_app, OPENID_A, *pairs) as client:
            first = await click(h5_app, OPENID_A, ASSETS_KEY)
            listed = (await client.get("/h5/bind/accounts")).json()
            headers = await csrf_headers(client)
            chosen = await client.post(
                f"/h5/bind/accounts/{listed[1]['id']}/default", headers=headers
            )
            assert chosen.status_code == 200
            second = await click(h5_app, OPENID_A, ASSETS_KEY)
            removed = await client.delete(f"/h5/bind/accounts/{listed[1]['id']}", headers=headers)
            assert removed.status_code == 200
            third = await click(h5_app, OPENID_A, ASSETS_KEY)
        assert "****1001" in shown(first)
        assert "****1002" in shown(second)
        assert "****1001" in shown(third)

    async def test_a_new_binding_is_seen_by_the_next_click(self, h5_app: FastAPI) -> None:
        unbound = await click(h5_app, OPENID_A, POSITIONS_KEY)  # caches "no bindings"
        async with bound_fan(h5_app, OPENID_A, (ZHANG_CASH, ZHANG.phone)):
            bound = await click(h5_app, OPENID_A, POSITIONS_KEY)
        assert "我的持仓" not in unbound.get("Title", "")
        assert "我的持仓" in bound["Title"]
