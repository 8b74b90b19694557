"""Menu definitions: WeChat's limits, `{base_url}`, YAML round trip, the built-in menu."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from app.content import menus
from app.content.errors import MenuValidationError

BASE = "https://wx.example.com"


def click(name: str = "资讯", key: str = "K1") -> dict[str, Any]:
    return {"type": "click", "name": name, "key": key}


def view(name: str = "开户", url: str = "https://example.com/open") -> dict[str, Any]:
    return {"type": "view", "name": name, "url": url}


def definition(*buttons: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"button": list(buttons) or [click()], **extra}


def problems(defn: object) -> list[str]:
    return menus.check_definition(defn, base_url=BASE)


class TestCheckDefinition:
    def test_the_builtin_menu_is_valid(self) -> None:
        assert problems(menus.builtin_definition()) == []

    def test_a_menu_at_every_limit_is_valid(self) -> None:
        subs = [click("子" * 20, "k" * 128) for _ in range(5)]  # 60 bytes, 128-byte key
        top = {"name": "一二三四五", "sub_button": subs}  # 15 bytes
        long_url = "https://e.com/" + "a" * (1024 - len("https://e.com/"))
        assert problems(definition(top, top, view(url=long_url))) == []

    @pytest.mark.parametrize(
        ("defn", "fragment"),
        [
            (definition(click(), click(), click(), click()), "1 to 3 top-level"),
            ({"button": []}, "1 to 3 top-level"),
            (definition({"name": "a", "sub_button": [click()] * 6}), "1 to 5 buttons"),
            (definition(click(name="一二三四五六")), "1..16 bytes"),  # 18 bytes at top level
            (definition({"name": "a", "sub_button": [click(name="字" * 21)]}), "1..60 bytes"),
            (definition(click(key="k" * 129)), "key must be 1..128"),
            (definition(click(key="")), "key must be 1..128"),
            (definition(view(url="https://e.com/" + "a" * 1011)), "at most 1024 bytes"),
            (definition(view(url="javascript:alert(1)")), "http(s) URL"),
            (definition({"type": "holo", "name": "x"}), "type must be one of"),
            (definition({"type": "miniprogram", "name": "x", "url": BASE}), "needs appid"),
            (definition({"type": "media_id", "name": "x"}), "needs media_id"),
            (definition({**click(), "sub_buttons": []}), "unknown field"),
            (
                definition({"name": "a", "type": "click", "key": "k", "sub_button": [click()]}),
                "no type of its own",
            ),
            (definition(conditional=[{"tag": "", "button": [click()]}]), "tag must be"),
            (
                definition(
                    conditional=[{"tag": "t", "client_platform_type": "9", "button": [click()]}]
                ),
                "client_platform_type",
            ),
            (definition(conditional=[{"tag": "t", "button": [click()]}] * 2), "same rule"),
            ("not a mapping", "must be a mapping"),
        ],
    )
    def test_violations_are_reported(self, defn: object, fragment: str) -> None:
        found = problems(defn)
        assert any(fragment in p for p in found), found

    def test_every_problem_is_reported_at_once(self) -> None:
        found = problems(definition(click(name="一二三四五六"), click(key="")))
        assert len(found) == 2
        assert found[0].startswith("button[0]")
        assert found[1].startswith("button[1]")

    def test_base_url_placeholder_is_checked_once_filled(self) -> None:
        assert problems(definition(view(url="{base_url}/h5/bind"))) == []
        assert problems(definition(view(url="{base_url}/h5/bind"))) == []
        with pytest.raises(MenuValidationError):
            menus.validate_definition(
                definition(view(url="{base_url}/x")), base_url="ftp://files.example.com"
            )

    def test_miniprogram_buttons_need_appid_pagepath_and_fallback_url(self) -> None:
        button = {
            "type": "miniprogram",
            "name": "小程序",
            "appid": "wx0123",
            "pagepath": "pages/index",
            "url": "https://example.com/fallback",
        }
        assert problems(definition(button)) == []


class TestRender:
    def test_render_fills_urls_and_splits_conditional_menus(self) -> None:
        rendered = menus.render(menus.builtin_definition(), base_url=BASE)
        bind = rendered.button[1]
        assert bind["url"] == f"{BASE}/h5/bind"
        assert [m.tag for m in rendered.conditional] == ["bound_customer"]
        keys = [b["key"] for b in rendered.conditional[0].button[0]["sub_button"]]
        assert "MENU_ACCOUNT_OVERVIEW" in keys

    def test_render_refuses_an_invalid_definition(self) -> None:
        with pytest.raises(MenuValidationError) as caught:
            menus.render({"button": []}, base_url=BASE)
        assert caught.value.problems


class TestYaml:
    def test_round_trip_keeps_the_definition(self) -> None:
        original = menus.builtin_definition()
        original["conditional"][0]["client_platform_type"] = "2"
        text = menus.dump_yaml(original)
        assert "最新资讯" in text  # Chinese stays readable
        assert menus.load_yaml(text) == original
        assert menus.load_yaml(text.encode()) == original

    def test_numbers_in_yaml_become_strings(self) -> None:
        loaded = menus.load_yaml(
            "button:\n  - {type: click, name: 热线, key: 95555}\n"
            "conditional:\n  - {tag: vip, client_platform_type: 2, button: [{type: click, "
            "name: a, key: b}]}\n"
        )
        assert loaded["button"][0]["key"] == "95555"
        assert loaded["conditional"][0]["client_platform_type"] == "2"
        assert problems(loaded) == []

    @pytest.mark.parametrize(
        "text",
        ["button: [unclosed", "- just\n- a list\n", "!!python/object:os.system ls", "x" * 70_000],
    )
    def test_bad_yaml_is_a_validation_error(self, text: str) -> None:
        with pytest.raises(MenuValidationError):
            menus.load_yaml(text)

    def test_a_copy_is_stored_not_the_callers_object(self) -> None:
        original = definition(click())
        stored = menus.validate_definition(original, base_url=BASE)
        stored["button"][0]["name"] = "changed"
        assert original == definition(click()) == copy.deepcopy(original)
