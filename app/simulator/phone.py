"""The fan phone emulator at /_sim/phone: a static page plus small JSON endpoints.

The page (static/phone.*) holds no secret: every action goes through these endpoints, which
sign like WeChat and POST to the service's `/wechat` (app.simulator.phone_bridge). Mounted by
app.main next to the WeChat simulator whenever `settings.simulator_mounted`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, field_validator

from app.core.config import Settings
from app.core.errors import NotFound
from app.simulator.phone_bridge import (
    OPENID_RULE,
    FanActions,
    Mode,
    PhoneBridge,
    PhoneConfig,
    check_openid,
    is_openid,
    new_openid,
)

PREFIX = "/_sim/phone"
STATIC = Path(__file__).resolve().parent / "static"
# The only files served: a fixed table, so no request path ever reaches the filesystem.
ASSETS = {
    "phone.css": "text/css; charset=utf-8",
    "phone.js": "text/javascript; charset=utf-8",
}
DEFAULT_MODE: Mode = "safe"
MAX_TEXT_CHARS = 2000
MAX_KEY_BYTES = 128
MAX_URL_BYTES = 1024
MAX_SCAN_CHARS = 200

router = APIRouter(prefix=PREFIX, include_in_schema=False)


def get_phone_http(request: Request) -> httpx.AsyncClient:
    """The HTTP client that reaches `/wechat` and the simulator (tests override it)."""
    http: httpx.AsyncClient = request.app.state.http
    return http


def get_bridge(
    request: Request, http: Annotated[httpx.AsyncClient, Depends(get_phone_http)]
) -> PhoneBridge:
    settings: Settings = request.app.state.settings
    return PhoneBridge(
        PhoneConfig.from_settings(settings), http=http, clock=request.app.state.clock
    )


BridgeDep = Annotated[PhoneBridge, Depends(get_bridge)]


class FanIn(BaseModel):
    openid: str | None = None

    @field_validator("openid")
    @classmethod
    def _openid(cls, value: str | None) -> str | None:
        if value is not None and not is_openid(value):
            raise ValueError(OPENID_RULE)
        return value


class ActionIn(BaseModel):
    openid: str
    mode: Mode = DEFAULT_MODE

    @field_validator("openid")
    @classmethod
    def _openid(cls, value: str) -> str:
        if not is_openid(value):
            raise ValueError(OPENID_RULE)
        return value


class FollowIn(ActionIn):
    scan: str | None = Field(default=None, max_length=MAX_SCAN_CHARS)

    @field_validator("scan")
    @classmethod
    def _scan(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class ClickIn(ActionIn):
    key: str = Field(min_length=1)

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if len(value.encode("utf-8")) > MAX_KEY_BYTES:
            raise ValueError(f"key is longer than {MAX_KEY_BYTES} bytes")
        return value


class ViewIn(ActionIn):
    url: str = Field(min_length=1)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value.encode()) > MAX_URL_BYTES:
            raise ValueError("url must be an http(s) URL of at most 1024 bytes")
        return value


class TextIn(ActionIn):
    content: str = Field(min_length=1, max_length=MAX_TEXT_CHARS)

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value


# -- the page ----------------------------------------------------------------------------------


@router.get("")
async def phone_page() -> FileResponse:
    return FileResponse(STATIC / "phone.html", media_type="text/html; charset=utf-8")


@router.get("/assets/{name}")
async def phone_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound("no such asset")
    return FileResponse(STATIC / name, media_type=media_type)


# -- JSON endpoints ----------------------------------------------------------------------------


@router.get("/api/config")
async def phone_config(bridge: BridgeDep) -> dict[str, Any]:
    """What the page shows about the setup (never a secret)."""
    cfg = bridge.config
    return {
        "account": cfg.original_id,
        "webhook_url": cfg.webhook_url,
        "simulator_url": cfg.simulator_url,
        "modes": ["plain", "compatible", "safe"],
        "default_mode": DEFAULT_MODE,
    }


@router.get("/api/fans")
async def list_fans(bridge: BridgeDep) -> dict[str, Any]:
    return {"fans": await bridge.list_fans()}


@router.post("/api/fans")
async def create_fan(bridge: BridgeDep, body: FanIn | None = None) -> dict[str, Any]:
    """A WeChat user who has not followed yet (a random openid unless one is given).

    A given openid the simulator already knows is returned as it is (never unfollowed).
    """
    openid = body.openid if body else None
    if openid is not None:
        existing = await bridge.fan(openid)
        if existing is not None:
            return existing
    return await bridge.register_fan(openid or new_openid(), subscribed=False)


@router.get("/api/menu")
async def fan_menu(bridge: BridgeDep, openid: Annotated[str, Query()]) -> dict[str, Any]:
    buttons = await bridge.menu(check_openid(openid))
    return {"button": buttons, "published": bool(buttons)}


@router.get("/api/inbox/{openid}")
async def fan_inbox(
    bridge: BridgeDep, openid: str, after: Annotated[int, Query(ge=0)] = 0
) -> dict[str, Any]:
    return {"messages": await bridge.inbox(check_openid(openid), after=after)}


@router.post("/api/follow")
async def follow(bridge: BridgeDep, body: FollowIn) -> dict[str, Any]:
    delivery = await FanActions(bridge).follow(body.openid, scan=body.scan, mode=body.mode)
    return delivery.as_dict()


@router.post("/api/unfollow")
async def unfollow(bridge: BridgeDep, body: ActionIn) -> dict[str, Any]:
    return (await FanActions(bridge).unfollow(body.openid, mode=body.mode)).as_dict()


@router.post("/api/click")
async def click(bridge: BridgeDep, body: ClickIn) -> dict[str, Any]:
    delivery = await FanActions(bridge).click(body.openid, key=body.key, mode=body.mode)
    return delivery.as_dict()


@router.post("/api/view")
async def view(bridge: BridgeDep, body: ViewIn) -> dict[str, Any]:
    delivery = await FanActions(bridge).view(body.openid, url=body.url, mode=body.mode)
    return {**delivery.as_dict(), "url": body.url}


@router.post("/api/text")
async def send_text(bridge: BridgeDep, body: TextIn) -> dict[str, Any]:
    delivery = await FanActions(bridge).text(body.openid, content=body.content, mode=body.mode)
    return delivery.as_dict()
