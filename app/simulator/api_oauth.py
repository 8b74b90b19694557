"""Simulated OAuth2 web authorisation (authorize page, code exchange, userinfo) (FACTS §5.7)."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.simulator.errors import WeChatFault
from app.simulator.oauth import SCOPES, OAuthGrant
from app.simulator.protocol import ok, reply
from app.simulator.state import WeChatSimulator

AUTHORIZE = "/connect/oauth2/authorize"


def _grant_body(grant: OAuthGrant, sim: WeChatSimulator) -> dict[str, object]:
    body: dict[str, object] = {
        "access_token": grant.access_token,
        "expires_in": int(grant.expires_at - sim.now()),
        "refresh_token": grant.refresh_token,
        "openid": grant.openid,
        "scope": grant.scope,
    }
    fan = sim.fans.fans.get(grant.openid)
    if fan is not None and fan.unionid:
        body["unionid"] = fan.unionid
    return body


def _redirect_target(redirect_uri: str, params: dict[str, str]) -> str:
    joiner = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{joiner}{urlencode(params)}"


def _chooser(sim: WeChatSimulator, request: Request) -> HTMLResponse:
    """A tiny page standing in for WeChat's consent screen: pick (or type) the fan."""
    base = dict(request.query_params)
    links = []
    for openid in sorted(sim.fans.fans):
        href = html.escape(f"{request.url.path}?{urlencode({**base, 'openid': openid})}")
        links.append(f'<li><a href="{href}">{html.escape(openid)}</a></li>')
    hidden = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
        for k, v in base.items()
    )
    page = (
        "<!doctype html><meta charset=utf-8><title>WeChat OAuth (simulator)</title>"
        "<h1>Authorise as which fan?</h1><ul>" + "".join(links) + "</ul>"
        f'<form method="get" action="{html.escape(request.url.path)}">{hidden}'
        '<input name="openid" placeholder="openid" required> <button>Authorise</button></form>'
    )
    return HTMLResponse(page)


def _authorize_problem(sim: WeChatSimulator, q: QueryParams) -> str | None:
    if q.get("appid") != sim.config.app_id:
        return "appid mismatch (40013)"
    if q.get("response_type") != "code" or q.get("scope", "") not in SCOPES:
        return "response_type must be code and scope snsapi_base or snsapi_userinfo"
    if not q.get("redirect_uri", "").startswith(("http://", "https://", "/")):
        return "redirect_uri must be an http(s) URL or an absolute path"
    return None


def _check_client(sim: WeChatSimulator, q: QueryParams, grant_type: str) -> None:
    if q.get("grant_type") != grant_type:
        raise WeChatFault(40002)
    if q.get("appid") != sim.config.app_id:
        raise WeChatFault(40013)
    if grant_type == "authorization_code" and q.get("secret") != sim.config.app_secret:
        raise WeChatFault(40125)


def oauth_router(sim: WeChatSimulator) -> APIRouter:
    router = APIRouter()

    @router.get(AUTHORIZE, response_model=None)
    async def authorize(request: Request) -> Response:
        """Issue a one-time code for `openid=` (tests) or show a chooser, then redirect."""
        q = request.query_params
        problem = _authorize_problem(sim, q)
        if problem:
            return HTMLResponse(f"<p>{html.escape(problem)}</p>", status_code=400)
        openid = q.get("openid")
        if not openid:
            return _chooser(sim, request)
        params = {"state": q.get("state", "")}
        if q.get("refuse") != "1":
            if openid not in sim.fans.fans:  # OAuth also works for fans who do not follow
                sim.fans.upsert(openid, subscribed=False)
            code = sim.oauth.issue_code(openid, q["scope"], sim.now())
            params = {"code": code, **params}
        return RedirectResponse(_redirect_target(q["redirect_uri"], params), status_code=302)

    @router.get("/sns/oauth2/access_token")
    async def exchange_code(request: Request) -> Response:
        q = request.query_params
        _check_client(sim, q, "authorization_code")
        grant = sim.oauth.exchange(q.get("code"), sim.now())
        return reply(_grant_body(grant, sim))

    @router.get("/sns/oauth2/refresh_token")
    async def refresh(request: Request) -> Response:
        q = request.query_params
        _check_client(sim, q, "refresh_token")
        grant = sim.oauth.refresh(q.get("refresh_token"), sim.now())
        return reply(_grant_body(grant, sim))

    @router.get("/sns/userinfo")
    async def userinfo(request: Request) -> Response:
        q = request.query_params
        grant = sim.oauth.check(q.get("access_token"), q.get("openid"), sim.now())
        if grant.scope != "snsapi_userinfo":
            raise WeChatFault(48001, "scope snsapi_base cannot read userinfo")
        fan = sim.fans.fans.get(grant.openid)
        body: dict[str, object] = {
            "openid": grant.openid,
            "nickname": f"fan-{grant.openid[-4:]}",
            "sex": 0,
            "province": "",
            "city": "",
            "country": "",
            "headimgurl": "",
            "privilege": [],
        }
        if fan is not None and fan.unionid:
            body["unionid"] = fan.unionid
        return reply(body)

    @router.get("/sns/auth")
    async def check_auth(request: Request) -> Response:
        q = request.query_params
        sim.oauth.check(q.get("access_token"), q.get("openid"), sim.now())
        return ok()

    return router
