"""Simulator admin API (`/_admin/...`), `/stats` and `/inbox/{openid}`; bad input gets a 4xx."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from app.simulator.callbacks import OUTCOMES
from app.simulator.config import CallbackMode
from app.simulator.faults import API_PREFIXES, Distribution
from app.simulator.limits import resolve_api
from app.simulator.state import WeChatSimulator
from app.simulator.template_messages import Template


class FaultIn(BaseModel):
    path: str = "*"
    errcode: int | None = None
    http_status: int | None = Field(default=None, ge=400, le=599)
    timeout: bool = False
    rate: float = Field(default=1.0, ge=0.0, le=1.0)
    count: int | None = Field(default=None, ge=1)
    latency_ms: float | None = Field(default=None, ge=0, le=60_000)
    hang_s: float = Field(default=30.0, gt=0)


class LatencyIn(BaseModel):
    fixed_ms: float = Field(default=0.0, ge=0, le=60_000)
    jitter_ms: float = Field(default=0.0, ge=0, le=60_000)
    distribution: Distribution = "fixed"


class QuotaIn(BaseModel):
    api: str = "template_send"
    daily_limit: int | None = Field(default=None, ge=0)
    used: int | None = Field(default=None, ge=0)


class RateIn(BaseModel):
    template_per_second: int | None = Field(default=None, ge=0)


class FanIn(BaseModel):
    openid: str = Field(min_length=1, max_length=64)
    subscribed: bool = True
    unionid: str | None = None
    scene: str | None = Field(default=None, max_length=64)


class TemplateIn(BaseModel):
    template_id: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1)
    content: str = Field(min_length=1)
    example: str = ""


class CallbackIn(BaseModel):
    enabled: bool = True
    url: str | None = None
    mode: CallbackMode | None = None
    outcomes: dict[str, float] | None = None
    delay_ms: int | None = Field(default=None, ge=0, le=600_000)


class SettingsIn(BaseModel):
    auto_fans: bool | None = None
    token_overlap_s: int | None = Field(default=None, ge=0, le=3600)


def _bad(detail: str) -> HTTPException:
    return HTTPException(status_code=400, detail=detail)


def admin_router(sim: WeChatSimulator) -> APIRouter:  # noqa: C901 - one route table
    router = APIRouter()

    @router.get("/stats")
    async def stats() -> dict[str, Any]:
        return sim.snapshot()

    @router.get("/inbox/{openid}")
    async def inbox(openid: str, after: int = 0) -> dict[str, Any]:
        return {"openid": openid, "messages": sim.inbox.list(openid, after=after)}

    @router.post("/_admin/reset")
    async def reset() -> dict[str, Any]:
        sim.reset()
        return {"ok": True}

    @router.post("/_admin/faults")
    async def add_fault(body: FaultIn) -> dict[str, Any]:
        if body.path != "*" and not body.path.startswith(API_PREFIXES):
            raise _bad("path must be '*' or a WeChat API path such as /cgi-bin/token")
        if not (body.errcode is not None or body.http_status or body.timeout or body.latency_ms):
            raise _bad("a fault needs errcode, http_status, timeout or latency_ms")
        rule = sim.faults.add(**body.model_dump())
        return rule.describe()

    @router.get("/_admin/faults")
    async def list_faults() -> list[dict[str, Any]]:
        return [rule.describe() for rule in sim.faults.rules]

    @router.delete("/_admin/faults")
    async def clear_faults() -> dict[str, Any]:
        sim.faults.clear()
        return {"ok": True}

    @router.post("/_admin/latency")
    async def set_latency(body: LatencyIn) -> dict[str, Any]:
        latency = sim.faults.latency
        latency.fixed_ms, latency.jitter_ms = body.fixed_ms, body.jitter_ms
        latency.distribution = body.distribution
        return body.model_dump()

    @router.post("/_admin/tokens/revoke")
    async def revoke_tokens() -> dict[str, Any]:
        return {"revoked": sim.tokens.revoke_all()}

    @router.post("/_admin/tokens/expire")
    async def expire_tokens() -> dict[str, Any]:
        return {"expired": sim.tokens.expire_all()}

    @router.post("/_admin/quota")
    async def set_quota(body: QuotaIn) -> dict[str, Any]:
        path = resolve_api(body.api)
        if path is None:
            raise _bad(f"unknown api {body.api!r}")
        quota = sim.quotas.configure(path, daily_limit=body.daily_limit, used=body.used)
        return {"api": path, "daily_limit": quota.daily_limit, "used": quota.used}

    @router.post("/_admin/rate")
    async def set_rate(body: RateIn) -> dict[str, Any]:
        sim.template_rate.limit = body.template_per_second or None
        return {"template_per_second": sim.template_rate.limit}

    @router.post("/_admin/fans")
    async def upsert_fan(body: FanIn) -> dict[str, Any]:
        fan = sim.fans.upsert(
            body.openid, subscribed=body.subscribed, unionid=body.unionid, scene=body.scene
        )
        return {"openid": fan.openid, **fan.info()}

    @router.get("/_admin/fans")
    async def list_fans() -> list[dict[str, Any]]:
        return [{**fan.info(), "openid": fan.openid} for fan in sim.fans.fans.values()]

    @router.post("/_admin/templates")
    async def add_template(body: TemplateIn) -> dict[str, str]:
        template = Template(body.template_id, body.title, body.content, body.example)
        if not template.keys:
            raise _bad("content has no {{key.DATA}} placeholder")
        sim.templates[template.template_id] = template
        return template.listing()

    @router.post("/_admin/callback")
    async def configure_callback(body: CallbackIn) -> dict[str, Any]:
        settings = sim.callbacks.settings
        if body.outcomes is not None:
            unknown = set(body.outcomes) - set(OUTCOMES)
            if unknown or any(w < 0 for w in body.outcomes.values()):
                raise _bad(f"outcomes take weights >= 0 for {list(OUTCOMES)}")
            settings.outcomes = dict(body.outcomes)
        settings.enabled = body.enabled
        if body.url is not None:
            settings.url = body.url
        if body.mode is not None:
            settings.mode = body.mode
        if body.delay_ms is not None:
            settings.delay_ms = body.delay_ms
        return {
            "enabled": settings.enabled,
            "url": settings.url,
            "mode": settings.mode,
            "outcomes": settings.outcomes,
            "delay_ms": settings.delay_ms,
        }

    @router.post("/_admin/settings")
    async def change_settings(body: SettingsIn) -> dict[str, Any]:
        if body.auto_fans is not None:
            sim.fans.auto_fans = body.auto_fans
        if body.token_overlap_s is not None:
            sim.tokens.overlap_s = body.token_overlap_s
        return {"auto_fans": sim.fans.auto_fans, "token_overlap_s": sim.tokens.overlap_s}

    @router.get("/_admin/qrcodes/{ticket}")
    async def scan_qrcode(ticket: str) -> dict[str, Any]:
        code = sim.qrcodes.get(ticket)
        if code is None:
            raise HTTPException(status_code=404, detail="unknown ticket")
        return code.describe(sim.now())

    @router.get("/_admin/menu")
    async def menu_for(openid: str | None = None) -> dict[str, Any]:
        fan = sim.fans.fans.get(openid) if openid else None
        if sim.menus.default is None:
            return {"button": []}
        return {"button": sim.menus.match(fan)}

    return router
