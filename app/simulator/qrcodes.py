"""Parametric QR codes: the four action names, their limits, and a ticket → scene map."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from app.simulator.errors import WeChatFault

MAX_EXPIRE_S = 2_592_000  # 30 days
DEFAULT_EXPIRE_S = 30
MAX_SCENE_STR = 64
MAX_PERMANENT_SCENE_ID = 100_000
MAX_TEMP_SCENE_ID = 2**32 - 1
TEMPORARY = {"QR_SCENE": "id", "QR_STR_SCENE": "str"}
PERMANENT = {"QR_LIMIT_SCENE": "id", "QR_LIMIT_STR_SCENE": "str"}


@dataclass
class QrCode:
    ticket: str
    action_name: str
    scene: str  # scene_id as text, or scene_str
    permanent: bool
    expires_at: float | None

    @property
    def url(self) -> str:
        return f"http://weixin.qq.com/q/{self.ticket[:22]}"

    def describe(self, now: float) -> dict[str, Any]:
        return {
            "ticket": self.ticket,
            "action_name": self.action_name,
            "scene": self.scene,
            "permanent": self.permanent,
            "expired": self.expires_at is not None and now >= self.expires_at,
            "url": self.url,
        }


def _scene(action_name: str, action_info: object) -> str:
    scene = action_info.get("scene") if isinstance(action_info, dict) else None
    if not isinstance(scene, dict):
        raise WeChatFault(40053, "action_info.scene missing")
    shape = TEMPORARY.get(action_name) or PERMANENT[action_name]
    if shape == "str":
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_SCENE_STR:
            raise WeChatFault(40053, "scene_str must be 1-64 characters")
        return value
    value = scene.get("scene_id")
    upper = MAX_TEMP_SCENE_ID if action_name in TEMPORARY else MAX_PERMANENT_SCENE_ID
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= upper:
        raise WeChatFault(40053, f"scene_id must be 1-{upper}")
    return str(value)


class QrCodeRegistry:
    """Every ticket issued, so the phone page can "scan" it and learn the scene."""

    def __init__(self) -> None:
        self.by_ticket: dict[str, QrCode] = {}

    def create(self, body: object, now: float) -> QrCode:
        if not isinstance(body, dict):
            raise WeChatFault(47001)
        action_name = body.get("action_name")
        if action_name not in TEMPORARY and action_name not in PERMANENT:
            raise WeChatFault(40053, "invalid action_name")
        scene = _scene(action_name, body.get("action_info"))
        expires_at: float | None = None
        if action_name in TEMPORARY:
            expire = body.get("expire_seconds", DEFAULT_EXPIRE_S)
            if not isinstance(expire, int) or expire <= 0:
                raise WeChatFault(40053, "invalid expire_seconds")
            expires_at = now + min(expire, MAX_EXPIRE_S)
        code = QrCode(secrets.token_urlsafe(36), action_name, scene, expires_at is None, expires_at)
        self.by_ticket[code.ticket] = code
        return code

    def get(self, ticket: str) -> QrCode | None:
        return self.by_ticket.get(ticket)
