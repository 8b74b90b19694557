"""Custom menu definitions: WeChat's limits, YAML import/export, rendering and publication.

A definition is what ops edit and what a `menu_version` row stores:

    button: [...]            # the default menu, WeChat's own button objects
    conditional:             # optional menus for fans with a WeChat tag
      - tag: bound_customer
        client_platform_type: "2"   # optional
        button: [...]

URLs may contain `{base_url}` (this service's public URL), filled in when rendering.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from app.content import constants as c
from app.content.default_menu import APP_DOWNLOAD_URL, BIND_PATH, OPEN_ACCOUNT_URL, MenuKey
from app.content.errors import MenuValidationError
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatApiError

log = logging.getLogger(__name__)

MENU_NOT_SET = 46003
LEAF_FIELDS = frozenset(
    {"type", "name", "key", "url", "appid", "pagepath", "media_id", "article_id"}
)
TOP_FIELDS = LEAF_FIELDS | {"sub_button"}
CONDITIONAL_FIELDS = frozenset({"tag", "client_platform_type", "button"})
DEFINITION_FIELDS = frozenset({"button", "conditional"})
URL_TYPES = frozenset({"view", "miniprogram"})


def _nbytes(value: object) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


class _Checker:
    """Collects every problem with a definition (ops fix them all at once, not one per try)."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def buttons(self, buttons: object, where: str) -> None:
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= c.MENU_MAX_BUTTONS:
            self.fail(where, f"needs 1 to {c.MENU_MAX_BUTTONS} top-level buttons")
            return
        for i, button in enumerate(buttons):
            self.top(button, f"{where}[{i}]")

    def top(self, button: object, where: str) -> None:
        if not isinstance(button, dict):
            self.fail(where, "must be a mapping")
            return
        self.unknown(button, TOP_FIELDS, where)
        self.name(button.get("name"), c.MENU_TOP_NAME_BYTES, where)
        subs = button.get("sub_button")
        if subs is None:
            self.leaf(button, where)
            return
        if "type" in button:
            self.fail(where, "a button with sub_button has no type of its own")
        if not isinstance(subs, list) or not 1 <= len(subs) <= c.MENU_MAX_SUB_BUTTONS:
            self.fail(f"{where}.sub_button", f"needs 1 to {c.MENU_MAX_SUB_BUTTONS} buttons")
            return
        for j, sub in enumerate(subs):
            sub_where = f"{where}.sub_button[{j}]"
            if not isinstance(sub, dict):
                self.fail(sub_where, "must be a mapping")
                continue
            self.unknown(sub, LEAF_FIELDS, sub_where)
            self.name(sub.get("name"), c.MENU_SUB_NAME_BYTES, sub_where)
            self.leaf(sub, sub_where)

    def leaf(self, button: dict[str, Any], where: str) -> None:
        kind = button.get("type")
        if kind not in c.MENU_BUTTON_TYPES:
            self.fail(where, f"type must be one of {', '.join(sorted(c.MENU_BUTTON_TYPES))}")
            return
        if kind in c.MENU_KEY_TYPES and not 0 < _nbytes(button.get("key")) <= c.MENU_KEY_BYTES:
            self.fail(where, f"key must be 1..{c.MENU_KEY_BYTES} bytes")
        if kind in URL_TYPES:
            self.url(button.get("url"), where)
        if kind == "miniprogram":
            for name in ("appid", "pagepath"):
                if not isinstance(button.get(name), str) or not button[name].strip():
                    self.fail(where, f"a miniprogram button needs {name}")
        if kind in ("media_id", "article_view_limited") and not button.get("media_id"):
            self.fail(where, f"a {kind} button needs media_id")
        if kind == "article_id" and not button.get("article_id"):
            self.fail(where, "an article_id button needs article_id")

    def name(self, name: object, limit: int, where: str) -> None:
        if not isinstance(name, str) or not name.strip() or _nbytes(name) > limit:
            self.fail(where, f"name must be 1..{limit} bytes of UTF-8")

    def url(self, url: object, where: str) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            self.fail(where, "url must be an http(s) URL")
        elif _nbytes(url) > c.MENU_URL_BYTES:
            self.fail(where, f"url must be at most {c.MENU_URL_BYTES} bytes")

    def unknown(self, obj: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
        extra = sorted(set(obj) - allowed)
        if extra:
            self.fail(where, f"unknown field(s) {', '.join(map(str, extra))}")

    def conditional(self, menus: object) -> None:
        if menus is None:
            return
        if not isinstance(menus, list) or len(menus) > c.MENU_MAX_CONDITIONAL:
            self.fail("conditional", f"must be a list of at most {c.MENU_MAX_CONDITIONAL}")
            return
        seen: set[tuple[str, str]] = set()
        for i, menu in enumerate(menus):
            where = f"conditional[{i}]"
            if not isinstance(menu, dict):
                self.fail(where, "must be a mapping")
                continue
            self.unknown(menu, CONDITIONAL_FIELDS, where)
            tag = menu.get("tag")
            if not isinstance(tag, str) or not tag.strip() or _nbytes(tag) > c.MENU_TAG_NAME_BYTES:
                self.fail(where, f"tag must be a tag name of 1..{c.MENU_TAG_NAME_BYTES} bytes")
            platform = menu.get("client_platform_type")
            if platform is not None and str(platform) not in c.CLIENT_PLATFORMS:
                self.fail(where, "client_platform_type must be 1 (iOS), 2 (Android) or 3")
            rule = (str(tag), str(platform or ""))
            if rule in seen:
                self.fail(where, "another conditional menu has the same rule")
            seen.add(rule)
            self.buttons(menu.get("button"), f"{where}.button")


def check_definition(definition: object, *, base_url: str) -> list[str]:
    """Every problem with a definition, checked as WeChat would see it (URLs filled in)."""
    checker = _Checker()
    if not isinstance(definition, dict):
        return ["menu: must be a mapping with `button` (and optionally `conditional`)"]
    checker.unknown(definition, DEFINITION_FIELDS, "menu")
    filled = fill_base_url(definition, base_url)
    checker.buttons(filled.get("button"), "button")
    checker.conditional(filled.get("conditional"))
    return checker.problems


def validate_definition(definition: object, *, base_url: str) -> dict[str, Any]:
    """The definition (a deep copy) if WeChat would accept it; MenuValidationError otherwise."""
    problems = check_definition(definition, base_url=base_url)
    if problems:
        raise MenuValidationError(problems)
    assert isinstance(definition, dict)
    return copy.deepcopy(definition)


def fill_base_url(value: Any, base_url: str) -> Any:
    """A copy with `{base_url}` replaced in every string."""
    if isinstance(value, str):
        return value.replace(c.BASE_URL_PLACEHOLDER, base_url.rstrip("/"))
    if isinstance(value, list):
        return [fill_base_url(v, base_url) for v in value]
    if isinstance(value, dict):
        return {k: fill_base_url(v, base_url) for k, v in value.items()}
    return value


# -- YAML ------------------------------------------------------------------------------------


def load_yaml(text: str | bytes) -> dict[str, Any]:
    """Parse a YAML definition (safe loader only: no Python objects, no aliases bombs)."""
    raw = text.encode() if isinstance(text, str) else text
    if len(raw) > c.MENU_YAML_MAX_BYTES:
        raise MenuValidationError([f"menu: YAML larger than {c.MENU_YAML_MAX_BYTES} bytes"])
    try:
        loaded = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise MenuValidationError([f"menu: not valid YAML ({type(exc).__name__})"]) from None
    if not isinstance(loaded, dict):
        raise MenuValidationError(["menu: YAML must hold a mapping with `button`"])
    stringified: dict[str, Any] = _stringify_scalars(loaded)
    return stringified


def _stringify_scalars(value: Any) -> Any:
    # YAML reads `client_platform_type: 2` as an int and `key: 123` as a number; WeChat wants
    # strings everywhere in a menu.
    if isinstance(value, dict):
        return {str(k): _stringify_scalars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stringify_scalars(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return str(value)
    return value


def dump_yaml(definition: Mapping[str, Any]) -> str:
    """YAML for a definition, Chinese kept readable, keys in WeChat's order."""
    dumped: str = yaml.safe_dump(dict(definition), allow_unicode=True, sort_keys=False, width=100)
    return dumped


# -- Rendering and publication -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConditionalMenu:
    tag: str
    client_platform_type: str | None
    button: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class RenderedMenu:
    """What the WeChat API gets: the default menu and the conditional menus by tag name."""

    button: list[dict[str, Any]]
    conditional: list[ConditionalMenu] = field(default_factory=list)


def render(definition: Mapping[str, Any], *, base_url: str) -> RenderedMenu:
    """A validated definition with URLs filled in, split into WeChat calls."""
    filled = fill_base_url(validate_definition(definition, base_url=base_url), base_url)
    conditional = [
        ConditionalMenu(
            tag=menu["tag"],
            client_platform_type=str(menu["client_platform_type"])
            if menu.get("client_platform_type") is not None
            else None,
            button=menu["button"],
        )
        for menu in filled.get("conditional") or []
    ]
    return RenderedMenu(button=filled["button"], conditional=conditional)


@dataclass(frozen=True, slots=True)
class PublishedMenu:
    """What WeChat answered: conditional menu ids by tag name, and the old ones removed."""

    conditional_menu_ids: dict[str, str]
    removed_menu_ids: list[str]


async def publish(wechat: WeChatClient, menu: RenderedMenu) -> PublishedMenu:
    """Replace the account's menus with `menu`, never leaving fans without one.

    Order: default menu, new conditional menus, then the previous conditional menus go (the
    newest matching conditional menu wins, so fans switch over without a gap). Tags the
    conditional menus name are created when missing.
    """
    previous = await _conditional_menu_ids(wechat)
    tag_ids = await _ensure_tags(wechat, {m.tag for m in menu.conditional})
    await wechat.create_menu({"button": menu.button})
    added: dict[str, str] = {}
    for conditional in menu.conditional:
        rule: dict[str, str] = {"tag_id": str(tag_ids[conditional.tag])}
        if conditional.client_platform_type:
            rule["client_platform_type"] = conditional.client_platform_type
        menuid = await wechat.add_conditional_menu(
            {"button": conditional.button, "matchrule": rule}
        )
        added[f"{conditional.tag}:{conditional.client_platform_type or ''}"] = menuid
    for menuid in previous:
        await wechat.delete_conditional_menu(menuid)
    log.info(
        "content.menu.published",
        extra={"conditional": len(added), "removed": len(previous)},
    )
    return PublishedMenu(conditional_menu_ids=added, removed_menu_ids=previous)


async def _conditional_menu_ids(wechat: WeChatClient) -> list[str]:
    try:
        current = await wechat.get_menu()
    except WeChatApiError as exc:
        if exc.errcode == MENU_NOT_SET:
            return []
        raise
    return [str(m["menuid"]) for m in current.get("conditionalmenu") or [] if "menuid" in m]


async def _ensure_tags(wechat: WeChatClient, names: set[str]) -> dict[str, int]:
    if not names:
        return {}
    existing = {str(t.get("name")): int(t["id"]) for t in await wechat.get_tags() if "id" in t}
    for name in sorted(names - set(existing)):
        created = await wechat.create_tag(name)
        existing[name] = int(created["id"])
        log.info("content.menu.tag_created", extra={"tag": name})
    return {name: existing[name] for name in names}


# -- The built-in menu -----------------------------------------------------------------------


def builtin_definition() -> dict[str, Any]:
    """The starting menu: prospects see account opening and binding, bound customers the
    account center (by the `bound_customer` tag). Keys are the webhook's CLICK contracts."""

    def click(name: str, key: str) -> dict[str, str]:
        return {"type": "click", "name": name, "key": str(key)}

    def view(name: str, url: str) -> dict[str, str]:
        return {"type": "view", "name": name, "url": url}

    news = {"type": "click", "name": "最新资讯", "key": c.LATEST_NEWS_KEY}
    prospect = [
        {
            "name": "开户",
            "sub_button": [view("在线开户", OPEN_ACCOUNT_URL), view("App下载", APP_DOWNLOAD_URL)],
        },
        {"name": "绑定账户", "type": "view", "url": c.BASE_URL_PLACEHOLDER + BIND_PATH},
        news,
    ]
    account = [
        {
            "name": "账户",
            "sub_button": [
                click("账户总览", MenuKey.ACCOUNT_OVERVIEW),
                click("我的持仓", MenuKey.POSITIONS),
                click("当日委托", MenuKey.ORDERS),
                click("资金流水", MenuKey.FUND_FLOWS),
                click("新股申购", MenuKey.IPO),
            ],
        },
        {
            "name": "提醒",
            "sub_button": [
                click("我的订阅", MenuKey.SUBSCRIPTIONS),
                click("自选股提醒", MenuKey.WATCHLIST),
                click("免打扰时段", MenuKey.QUIET_HOURS),
            ],
        },
        news,
    ]
    return {
        "button": prospect,
        "conditional": [{"tag": c.BOUND_CUSTOMER_TAG, "button": account}],
    }
