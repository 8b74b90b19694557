"""Simulated credentials and quotas: token, stable_token, JS-SDK ticket, quota, clear_quota."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.simulator.errors import WeChatFault
from app.simulator.protocol import check_app, ok, read_json, reply, require_token
from app.simulator.state import WeChatSimulator

TOKEN_PATH = "/cgi-bin/token"  # noqa: S105 - a URL path, not a secret


def _cgi_path(value: object) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise WeChatFault(76003)  # missing, a full URL, or a path without its leading "/"
    return value


def credentials_router(sim: WeChatSimulator) -> APIRouter:
    router = APIRouter()

    @router.get(TOKEN_PATH)
    async def get_token(request: Request) -> Response:
        """A new token on every call; the previous /cgi-bin/token token stops working."""
        q = request.query_params
        check_app(sim, grant_type=q.get("grant_type"), appid=q.get("appid"), secret=q.get("secret"))
        sim.quotas.consume(TOKEN_PATH)
        token = sim.tokens.issue_plain()
        sim.stats["token_issued"] += 1
        return reply({"access_token": token.value, "expires_in": token.expires_in(sim.now())})

    @router.post("/cgi-bin/stable_token")
    async def get_stable_token(request: Request) -> Response:
        """The same token while valid (rolled 5 min before expiry); force_refresh replaces it."""
        body = await read_json(request)
        check_app(
            sim,
            grant_type=body.get("grant_type"),
            appid=body.get("appid"),
            secret=body.get("secret"),
        )
        force = body.get("force_refresh", False)
        if not isinstance(force, bool):
            raise WeChatFault(47001, "force_refresh must be a boolean")
        previous = sim.tokens.current_stable
        token = sim.tokens.issue_stable(force_refresh=force)
        sim.stats["token_issued"] += 1
        if token is not previous:
            sim.stats["stable_token_minted"] += 1
        return reply({"access_token": token.value, "expires_in": token.expires_in(sim.now())})

    @router.get("/cgi-bin/ticket/getticket")
    async def get_ticket(request: Request) -> Response:
        require_token(sim, request)
        if request.query_params.get("type", "jsapi") != "jsapi":
            raise WeChatFault(40097, "only type=jsapi is simulated")
        ticket = sim.tokens.jsapi_ticket()
        sim.stats["ticket_issued"] += 1
        return ok(ticket=ticket.value, expires_in=ticket.expires_in(sim.now()))

    @router.post("/cgi-bin/openapi/quota/get")
    async def get_quota(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        # The live counters: every quota'd handler consumes from the same Quotas object.
        quota = sim.quotas.get(_cgi_path(body.get("cgi_path")))
        return ok(
            quota={"daily_limit": quota.daily_limit, "used": quota.used, "remain": quota.remain}
        )

    @router.post("/cgi-bin/clear_quota")
    async def clear_quota(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        if body.get("appid") != sim.config.app_id:
            raise WeChatFault(40013)
        sim.quotas.clear()
        return ok()

    @router.post("/cgi-bin/clear_quota/v2")
    async def clear_quota_by_secret(request: Request) -> Response:
        body = await read_json(request)
        check_app(
            sim,
            grant_type="client_credential",
            appid=body.get("appid"),
            secret=body.get("appsecret"),
        )
        sim.quotas.clear()
        return ok()

    @router.get("/cgi-bin/getcallbackip")
    async def get_callback_ip(request: Request) -> Response:
        require_token(sim, request)
        return reply({"ip_list": ["127.0.0.1"]})

    return router
