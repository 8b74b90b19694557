"""`wxbroker menu push | import | export` bodies against the test database and the loopback
simulator (the real WeChatClient built from settings, as the CLI does)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from app.cli import _build_parser
from app.content import commands, menus
from app.content.errors import MenuPublishError, MenuVersionStateError
from app.core.config import Settings
from app.wechat.client import WeChatClient
from tests.conftest import TEST_APP_SECRET, LoopbackServer, make_settings


@pytest.fixture
def cli_settings(wechat_sim_server: LoopbackServer) -> Settings:
    return make_settings(
        wechat_api_base_url=wechat_sim_server.url, wechat_app_secret=TEST_APP_SECRET
    )


@pytest.mark.usefixtures("engine", "truncate_tables")
class TestMenuCommands:
    async def test_fresh_install_push_publishes_the_builtin_menu(
        self, cli_settings: Settings, wechat: WeChatClient
    ) -> None:
        row = await commands.push_menu(cli_settings, version=None, builtin=False, actor="cli:t")
        assert (row.version, row.status) == (1, "published")
        current = await wechat.get_menu()
        assert [b["name"] for b in current["menu"]["button"]] == ["开户", "绑定账户", "最新资讯"]
        assert len(current["conditionalmenu"]) == 1

    async def test_import_export_then_push_a_version(
        self, cli_settings: Settings, wechat: WeChatClient
    ) -> None:
        await commands.push_menu(cli_settings, version=None, builtin=False, actor="cli:t")
        text = await commands.export_menu(cli_settings, version=None)
        edited = text.replace("最新资讯", "今日资讯")
        draft = await commands.import_menu(cli_settings, text=edited.encode(), actor="cli:t")
        assert draft.version == 2

        await commands.push_menu(cli_settings, version=2, builtin=False, actor="cli:t")

        assert menus.load_yaml(await commands.export_menu(cli_settings, version=None)) == (
            menus.load_yaml(edited)
        )
        buttons = (await wechat.get_menu())["menu"]["button"]
        assert buttons[2]["name"] == "今日资讯"

    async def test_push_without_a_published_version_asks_for_one(
        self, cli_settings: Settings
    ) -> None:
        await commands.import_menu(
            cli_settings, text=menus.dump_yaml(menus.builtin_definition()).encode(), actor="t"
        )
        with pytest.raises(MenuVersionStateError):
            await commands.push_menu(cli_settings, version=None, builtin=False, actor="cli:t")

    async def test_push_to_an_unreachable_wechat_fails_cleanly(self, engine: AsyncEngine) -> None:
        settings = make_settings(
            wechat_api_base_url="http://127.0.0.1:9", wechat_http_timeout_s=1.0
        )
        with pytest.raises(MenuPublishError):
            await commands.push_menu(settings, version=None, builtin=True, actor="cli:t")


def test_the_cli_parses_menu_subcommands() -> None:
    parser = _build_parser()
    args = parser.parse_args(["menu", "push", "--version", "3"])
    assert (args.command, args.menu_command, args.version) == ("menu", "push", 3)
    assert parser.parse_args(["menu", "export"]).version is None
