"""Custom menus: WeChat's validation limits, default + conditional menus, trymatch."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from app.simulator.errors import WeChatFault
from app.simulator.fans import Fan

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
TOP_NAME_BYTES = 16
SUB_NAME_BYTES = 60
KEY_BYTES = 128
URL_BYTES = 1024
KEY_TYPES = frozenset(
    {
        "click",
        "scancode_push",
        "scancode_waitmsg",
        "pic_sysphoto",
        "pic_photo_or_album",
        "pic_weixin",
        "location_select",
    }
)
BUTTON_TYPES = KEY_TYPES | {
    "view",
    "miniprogram",
    "media_id",
    "article_id",
    "article_view_limited",
}
PRIVATE_RULES = frozenset({"sex", "country", "province", "city", "language"})
PUBLIC_RULES = frozenset({"tag_id", "client_platform_type", "group_id"})

# errcodes for (top level, sub button): count, type, name, key, url
_CODES = {
    True: {"type": 40015, "name": 40018, "key": 40019, "url": 40020},
    False: {"type": 40024, "name": 40025, "key": 40026, "url": 40027},
}


def _nbytes(value: object) -> int:
    return len(value.encode("utf-8")) if isinstance(value, str) else -1


def _check_leaf(button: dict[str, Any], *, top: bool) -> None:
    codes = _CODES[top]
    kind = button.get("type")
    if kind not in BUTTON_TYPES:
        raise WeChatFault(codes["type"])
    if kind in KEY_TYPES and not 0 < _nbytes(button.get("key")) <= KEY_BYTES:
        raise WeChatFault(codes["key"])
    if kind in {"view", "miniprogram"}:
        url = button.get("url")
        if not 0 < _nbytes(url) <= URL_BYTES or not str(url).startswith(("http://", "https://")):
            raise WeChatFault(codes["url"])
    if kind == "miniprogram" and not (button.get("appid") and button.get("pagepath")):
        raise WeChatFault(47001, "miniprogram button needs appid and pagepath")
    if kind in {"media_id", "article_id", "article_view_limited"}:
        field = "article_id" if kind == "article_id" else "media_id"
        if not button.get(field):
            raise WeChatFault(40007)


def _check_button(button: object) -> None:
    if not isinstance(button, dict):
        raise WeChatFault(47001, "button must be an object")
    if not 0 < _nbytes(button.get("name")) <= TOP_NAME_BYTES:
        raise WeChatFault(40018)
    subs = button.get("sub_button")
    if subs is None or ("type" in button and not subs):
        _check_leaf(button, top=True)
        return
    if not isinstance(subs, list) or not subs:
        raise WeChatFault(41007)
    if len(subs) > MAX_SUB_BUTTONS:
        raise WeChatFault(40017)
    for sub in subs:
        if not isinstance(sub, dict):
            raise WeChatFault(47001, "sub_button must hold objects")
        if not 0 < _nbytes(sub.get("name")) <= SUB_NAME_BYTES:
            raise WeChatFault(40025)
        _check_leaf(sub, top=False)


def validate_buttons(body: object) -> list[dict[str, Any]]:
    """The `button` list of a menu/create or addconditional body, or WeChat's errcode."""
    buttons = body.get("button") if isinstance(body, dict) else None
    if not isinstance(buttons, list) or not 0 < len(buttons) <= MAX_BUTTONS:
        raise WeChatFault(40016)
    for button in buttons:
        _check_button(button)
    return copy.deepcopy(buttons)


def validate_matchrule(rule: object, known_tags: set[int]) -> dict[str, Any]:
    if not isinstance(rule, dict) or not any(rule.get(k) not in (None, "") for k in rule):
        raise WeChatFault(65304)
    if any(k in PRIVATE_RULES and rule.get(k) not in (None, "") for k in rule):
        raise WeChatFault(65320)
    tag = rule.get("tag_id")
    if tag not in (None, "") and not (str(tag).isdigit() and int(str(tag)) in known_tags):
        raise WeChatFault(45159)
    return {k: str(v) for k, v in rule.items() if k in PUBLIC_RULES and v not in (None, "")}


@dataclass
class ConditionalMenu:
    menuid: int
    button: list[dict[str, Any]]
    matchrule: dict[str, Any]


class MenuStore:
    """The default menu and the conditional menus; newest matching conditional menu wins."""

    def __init__(self) -> None:
        self.default: list[dict[str, Any]] | None = None
        self.default_menuid = 0
        self.conditional: list[ConditionalMenu] = []
        self._next_menuid = 400_000_000

    def _new_id(self) -> int:
        self._next_menuid += 1
        return self._next_menuid

    def create(self, buttons: list[dict[str, Any]]) -> None:
        self.default, self.default_menuid = buttons, self._new_id()

    def add_conditional(self, buttons: list[dict[str, Any]], rule: dict[str, Any]) -> int:
        if self.default is None:
            raise WeChatFault(65303)
        menu = ConditionalMenu(self._new_id(), buttons, rule)
        self.conditional.append(menu)
        return menu.menuid

    def delete_conditional(self, menuid: object) -> None:
        before = len(self.conditional)
        self.conditional = [m for m in self.conditional if str(m.menuid) != str(menuid)]
        if len(self.conditional) == before:
            raise WeChatFault(65301)

    def delete_all(self) -> None:
        self.default, self.conditional = None, []

    def get(self) -> dict[str, Any]:
        if self.default is None:
            raise WeChatFault(46003)
        body: dict[str, Any] = {"menu": {"button": self.default, "menuid": self.default_menuid}}
        if self.conditional:
            body["conditionalmenu"] = [
                {"button": m.button, "matchrule": m.matchrule, "menuid": m.menuid}
                for m in self.conditional
            ]
        return body

    def match(self, fan: Fan | None) -> list[dict[str, Any]]:
        """The menu `fan` sees (trymatch and the phone page)."""
        if self.default is None:
            raise WeChatFault(46003)
        tags = {str(t) for t in fan.tag_ids} if fan is not None else set()
        for menu in reversed(self.conditional):
            tag = menu.matchrule.get("tag_id")
            if tag is None or tag in tags:
                return menu.button
        return self.default

    def current_selfmenu_info(self) -> dict[str, Any]:
        """get_current_selfmenu_info: sub buttons wrapped as `{"list": [...]}`."""
        if self.default is None:
            return {"is_menu_open": 0}
        buttons = []
        for button in self.default:
            shown = {k: v for k, v in button.items() if k != "sub_button"}
            if button.get("sub_button"):
                shown["sub_button"] = {"list": button["sub_button"]}
            buttons.append(shown)
        return {"is_menu_open": 1, "selfmenu_info": {"button": buttons}}
