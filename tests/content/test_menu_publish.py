"""Menu versions published through the real WeChatClient to the loopback simulator:
conditional menus by tag, history, re-publication and failures."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.content import menus, service
from app.content.errors import (
    MenuPublishError,
    MenuValidationError,
    MenuVersionNotFoundError,
    MenuVersionStateError,
)
from app.content.models import MenuStatus
from app.core.time import FakeClock
from app.wechat.client import WeChatClient

BASE = "https://wx.example.com"
BOUND = "oBoundFan0000000000000000001"
PROSPECT = "oProspect000000000000000001"


async def draft(session: AsyncSession, clock: FakeClock, definition: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    return await service.draft_menu_version(
        session,
        definition=definition or menus.builtin_definition(),
        created_by="alice",
        base_url=BASE,
        now=clock.now(),
    )


async def publish(session: AsyncSession, wechat: WeChatClient, clock: FakeClock, version: int):  # type: ignore[no-untyped-def]
    return await service.publish_menu_version(
        session, version=version, wechat=wechat, base_url=BASE, published_by="bob", now=clock.now()
    )


def names(buttons: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [b["name"] for b in buttons]


class TestDraft:
    async def test_versions_number_up_and_keep_the_definition(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        first = await draft(session, clock)
        second = await draft(
            session, clock, {"button": [{"type": "click", "name": "a", "key": "k"}]}
        )
        assert (first.version, second.version) == (1, 2)
        assert first.status == second.status == MenuStatus.DRAFT
        assert [v.version for v in await service.list_menu_versions(session)] == [2, 1]
        assert await service.export_menu_yaml(session, 1) == menus.dump_yaml(
            menus.builtin_definition()
        )

    async def test_an_invalid_definition_is_not_stored(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        with pytest.raises(MenuValidationError):
            await draft(
                session, clock, {"button": [{"type": "click", "name": "a" * 17, "key": "k"}]}
            )
        assert await service.list_menu_versions(session) == []

    async def test_yaml_import_round_trips_through_a_version(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        original = await draft(session, clock)
        text = await service.export_menu_yaml(session, original.version)
        imported = await service.import_menu_yaml(
            session, text=text, created_by="carol", base_url=BASE, now=clock.now()
        )
        assert imported.version == 2
        assert imported.definition == original.definition

    async def test_unknown_version_is_not_found(self, session: AsyncSession) -> None:
        with pytest.raises(MenuVersionNotFoundError):
            await service.get_menu_version(session, 42)
        with pytest.raises(MenuVersionNotFoundError):
            await service.export_menu_yaml(session)  # nothing published yet


class TestPublishThroughTheSimulator:
    async def test_bound_customers_see_the_account_menu_and_prospects_the_opening_menu(
        self,
        session: AsyncSession,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        clock: FakeClock,
    ) -> None:
        for openid in (BOUND, PROSPECT):
            await wechat_sim_admin.post("/_admin/fans", json={"openid": openid, "subscribed": True})
        row = await publish(session, wechat, clock, (await draft(session, clock)).version)

        assert row.status == MenuStatus.PUBLISHED
        assert row.published_by == "bob"
        tag = next(t for t in await wechat.get_tags() if t["name"] == "bound_customer")
        await wechat.tag_users(int(tag["id"]), [BOUND])
        bound = await wechat.try_match_menu(BOUND)
        prospect = await wechat.try_match_menu(PROSPECT)
        assert names(bound["button"]) == ["账户", "提醒", "最新资讯"]
        assert names(prospect["button"]) == ["开户", "绑定账户", "最新资讯"]
        assert prospect["button"][1]["url"] == f"{BASE}/h5/bind"
        current = await wechat.get_menu()
        assert len(current["conditionalmenu"]) == 1
        assert current["conditionalmenu"][0]["matchrule"]["tag_id"] == str(tag["id"])

    async def test_publishing_another_version_supersedes_and_replaces_conditional_menus(
        self, session: AsyncSession, wechat: WeChatClient, clock: FakeClock
    ) -> None:
        first = await draft(session, clock)
        await publish(session, wechat, clock, first.version)
        old_ids = [m["menuid"] for m in (await wechat.get_menu())["conditionalmenu"]]
        second = await draft(session, clock)
        clock.advance(60)
        await publish(session, wechat, clock, second.version)

        assert (await service.get_menu_version(session, 1)).status == MenuStatus.SUPERSEDED
        assert (await service.get_published_menu_version(session)).version == 2
        new_ids = [m["menuid"] for m in (await wechat.get_menu())["conditionalmenu"]]
        assert len(new_ids) == 1
        assert set(new_ids).isdisjoint(old_ids)

        await publish(session, wechat, clock, first.version)  # roll back to version 1
        assert (await service.get_published_menu_version(session)).version == 1
        history = await service.list_menu_publications(session, 1)
        assert len(history) == 2  # both publications of version 1 are kept

    async def test_a_wechat_refusal_changes_no_status(
        self,
        session: AsyncSession,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        clock: FakeClock,
    ) -> None:
        published = await draft(session, clock)
        await publish(session, wechat, clock, published.version)
        pending = await draft(session, clock)
        fault = {"path": "/cgi-bin/menu/create", "errcode": 40018, "count": 1}
        assert (await wechat_sim_admin.post("/_admin/faults", json=fault)).status_code == 200

        with pytest.raises(MenuPublishError):
            await publish(session, wechat, clock, pending.version)

        assert (await service.get_menu_version(session, pending.version)).status == "draft"
        assert (await service.get_published_menu_version(session)).version == published.version

    async def test_the_builtin_menu_is_published_only_on_a_fresh_install(
        self, session: AsyncSession, wechat: WeChatClient, clock: FakeClock
    ) -> None:
        row = await service.publish_builtin_menu(
            session, wechat=wechat, base_url=BASE, published_by="cli", now=clock.now()
        )
        assert row.version == 1
        assert row.status == MenuStatus.PUBLISHED
        assert names((await wechat.get_menu())["menu"]["button"]) == [
            "开户",
            "绑定账户",
            "最新资讯",
        ]
        with pytest.raises(MenuVersionStateError):
            await service.publish_builtin_menu(
                session, wechat=wechat, base_url=BASE, published_by="cli", now=clock.now()
            )
