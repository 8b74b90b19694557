"""The dev account's default custom menu and its start-up publication (dev + simulator only).

Menu management proper (issue #7) replaces this; the CLICK keys below are the contract the
account center and the alerts feature register handlers for.
"""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum
from typing import Any

from app.campaigns import constants as campaigns_constants
from app.core.config import Settings
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatApiError, WeChatError

log = logging.getLogger(__name__)

MENU_NOT_SET = 46003  # get_menu: "menu does not exist"
# Start-up publication retries while the server that mounts the simulator starts listening.
PUBLISH_ATTEMPTS = 8
PUBLISH_FIRST_DELAY_S = 0.25
PUBLISH_MAX_DELAY_S = 8.0

# Placeholders for the brokerage's own public pages (account opening, app download).
OPEN_ACCOUNT_URL = "https://www.example.com/open-account"
APP_DOWNLOAD_URL = "https://www.example.com/app"
BIND_PATH = "/h5/bind"
SIMULATOR_MOUNT = "/_sim/wechat"


class MenuKey(StrEnum):
    """CLICK keys of the account's menu. The eight account-center queries come first."""

    ACCOUNT_OVERVIEW = "MENU_ACCOUNT_OVERVIEW"  # assets (and liabilities for margin accounts)
    POSITIONS = "MENU_POSITIONS"
    HOLDING_PNL = "MENU_HOLDING_PNL"
    ORDERS = "MENU_ORDERS"  # today's orders
    FUND_FLOWS = "MENU_FUND_FLOWS"  # today's fund flow
    IPO = "MENU_IPO"  # IPO applications, lottery results, payment due
    LIABILITIES = "MENU_LIABILITIES"
    PERSONAL_INFO = "MENU_PERSONAL_INFO"
    SUBSCRIPTIONS = "MENU_SUBSCRIPTIONS"  # alert categories the fan receives
    WATCHLIST = "MENU_WATCHLIST"
    QUIET_HOURS = "MENU_QUIET_HOURS"


def _click(name: str, key: MenuKey) -> dict[str, str]:
    return {"type": "click", "name": name, "key": key.value}


def _view(name: str, url: str) -> dict[str, str]:
    return {"type": "view", "name": name, "url": url}


def default_menu(base_url: str) -> dict[str, Any]:
    """The `menu/create` body: 账户, 提醒, 开户/下载 (WeChat allows 3 buttons x 5 sub-buttons)."""
    base = base_url.rstrip("/")
    account = [
        _click("账户总览", MenuKey.ACCOUNT_OVERVIEW),
        _click("我的持仓", MenuKey.POSITIONS),
        _click("当日委托", MenuKey.ORDERS),
        _click("新股申购", MenuKey.IPO),
        _view("绑定账户", base + BIND_PATH),
    ]
    alerts = [
        _click("我的订阅", MenuKey.SUBSCRIPTIONS),
        _click("自选股提醒", MenuKey.WATCHLIST),
        _click("免打扰时段", MenuKey.QUIET_HOURS),
    ]
    links = [
        _view("在线开户", OPEN_ACCOUNT_URL),
        _view("App下载", APP_DOWNLOAD_URL),
        # `wxbroker dev` seeds this demo campaign (its H5 page goes through OAuth like binding).
        _view(
            "抽奖活动",
            f"{base}{campaigns_constants.H5_PREFIX}/{campaigns_constants.DEMO_CAMPAIGN_CODE}",
        ),
    ]
    return {
        "button": [
            {"name": "账户", "sub_button": account},
            {"name": "提醒", "sub_button": alerts},
            {"name": "开户/下载", "sub_button": links},
        ]
    }


def publishes_at_startup(settings: Settings) -> bool:
    """Dev, simulator mounted, and the client pointed at it: never the real WeChat."""
    own_simulator = settings.base_url + SIMULATOR_MOUNT
    return (
        settings.is_dev
        and settings.simulator_mounted
        and settings.effective_wechat_api_base_url == own_simulator
    )


async def publish_if_missing(wechat: WeChatClient, *, base_url: str) -> bool:
    """Create the default menu unless the account already has one; True when it was created."""
    try:
        await wechat.get_menu()
    except WeChatApiError as exc:
        if exc.errcode != MENU_NOT_SET:
            raise
    else:
        return False  # someone (ops, a test, a previous run) set a menu: leave it alone
    await wechat.create_menu(default_menu(base_url))
    return True


async def publish_at_startup(stop: asyncio.Event, *, wechat: WeChatClient, base_url: str) -> None:
    """Dev start-up hook: publish the default menu to the mounted simulator, once.

    The simulator is served by this very process, which starts listening only after the
    lifespan has started, so the first attempts may find nobody listening: retry with backoff.
    """
    delay = PUBLISH_FIRST_DELAY_S
    for attempt in range(1, PUBLISH_ATTEMPTS + 1):
        try:
            created = await publish_if_missing(wechat, base_url=base_url)
        except WeChatError as exc:
            log.info(
                "content.default_menu.retry",
                extra={"attempt": attempt, "error": type(exc).__name__},
            )
        else:
            log.info("content.default_menu.published" if created else "content.default_menu.kept")
            return
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            delay = min(delay * 2, PUBLISH_MAX_DELAY_S)
        else:
            return  # shutting down
    log.warning("content.default_menu.gave_up", extra={"attempts": PUBLISH_ATTEMPTS})
