"""Template registry, data validation (47003), the 20-character rule and client_msg_id dedupe."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from typing import Any

from app.simulator.errors import WeChatFault
from app.simulator.texts import DEPUTY_INDUSTRY, PRIMARY_INDUSTRY, SEEDED_TEMPLATES

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\.DATA\s*\}\}")
SHOWN_CHARS = 20  # 2023 rule: a field shows at most 20 characters, longer text ends in "…"
ELLIPSIS = "…"
# Keys no longer shown since 2023-05-04; accepted, optional, dropped from what the fan sees.
HIDDEN_KEYS = frozenset({"first", "remark"})
DEDUPE_WINDOW_S = 600
_DATE = r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?"
_TIME = rf"(?:{_DATE}(?:\s*{_CLOCK})?|{_CLOCK})"
# Typed keywords of category templates (`thing1`, `amount3`...): value rules FACTS §5.2.
TYPE_RULES: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"[-+]?\d{1,32}(?:\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "symbol": re.compile(r"\S{1,5}"),
    "character_string": re.compile(r"[A-Za-z0-9_\-.:/@#*+ ]{1,32}"),
    "phone_number": re.compile(r"[0-9+\-() ]{1,17}"),
    "car_number": re.compile(r"\S{1,8}"),
    "phrase": re.compile(r"[\u4e00-\u9fff]{1,5}"),
    "amount": re.compile(r"[-+]?[¥￥$€£]?\d{1,10}(?:\.\d{1,2})?元?"),
    "time": re.compile(rf"{_TIME}(?:\s*[~-]\s*{_TIME})?"),
    "date": re.compile(rf"{_TIME}(?:\s*[~-]\s*{_TIME})?"),
}


@dataclass
class Template:
    template_id: str
    title: str
    content: str
    example: str = ""
    primary_industry: str = PRIMARY_INDUSTRY
    deputy_industry: str = DEPUTY_INDUSTRY

    @property
    def keys(self) -> list[str]:
        return PLACEHOLDER.findall(self.content)

    def listing(self) -> dict[str, str]:
        return {
            "template_id": self.template_id,
            "title": self.title,
            "primary_industry": self.primary_industry,
            "deputy_industry": self.deputy_industry,
            "content": self.content,
            "example": self.example,
        }

    def render(self, shown: dict[str, str]) -> str:
        """The card text a fan sees: placeholders filled, hidden/missing keys blank."""
        text = PLACEHOLDER.sub(lambda m: shown.get(m.group(1), ""), self.content)
        return "\n".join(line for line in text.splitlines() if line.strip())


def seeded_templates() -> dict[str, Template]:
    return {tid: Template(tid, title, content, ex) for tid, title, content, ex in SEEDED_TEMPLATES}


def _kind(key: str) -> str:
    return key.rstrip("0123456789")


def _value(data: dict[str, Any], key: str) -> str | None:
    item = data.get(key)
    if item is None:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("value"), str):
        raise WeChatFault(47003, f"data.{key}.value invalid")
    value: str = item["value"]
    return value


def validate_data(template: Template, data: object) -> dict[str, str]:
    """Check `data` against the template; return the values the fan is shown (47003 otherwise)."""
    if not isinstance(data, dict):
        raise WeChatFault(47003, "data invalid")
    keys = template.keys
    for key in data:
        if key not in keys:
            raise WeChatFault(47003, f"data.{key} not in template")
    shown: dict[str, str] = {}
    for key in keys:
        value = _value(data, key)
        if key in HIDDEN_KEYS:
            continue
        if value is None or not value.strip():
            raise WeChatFault(47003, f"data.{key}.value empty")
        rule = TYPE_RULES.get(_kind(key))
        if rule is not None:
            if not rule.fullmatch(value.strip()):
                raise WeChatFault(47003, f"data.{key}.value invalid")
            shown[key] = value
        else:
            shown[key] = truncate(value)
    return shown


def truncate(value: str) -> str:
    """Free-text fields: more than 20 characters are cut to 20 and end in "…" (no error)."""
    return value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + ELLIPSIS


class ClientMsgIdWindow:
    """Same openid + client_msg_id within 10 minutes: the first msgid, nothing delivered again."""

    def __init__(self) -> None:
        self._seen: dict[tuple[str, str], tuple[int, float]] = {}
        self._expiry: deque[tuple[float, tuple[str, str]]] = deque()

    def _evict(self, now: float) -> None:
        while self._expiry and self._expiry[0][0] <= now:
            _, key = self._expiry.popleft()
            entry = self._seen.get(key)
            if entry is not None and entry[1] <= now:
                del self._seen[key]

    def lookup(self, openid: str, client_msg_id: str, now: float) -> int | None:
        self._evict(now)
        entry = self._seen.get((openid, client_msg_id))
        return entry[0] if entry is not None and entry[1] > now else None

    def remember(self, openid: str, client_msg_id: str, msgid: int, now: float) -> None:
        expires_at = now + DEDUPE_WINDOW_S
        self._seen[(openid, client_msg_id)] = (msgid, expires_at)
        self._expiry.append((expires_at, (openid, client_msg_id)))
