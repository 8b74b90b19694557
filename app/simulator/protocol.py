"""WeChat wire conventions shared by the simulated endpoints: JSON in, `{errcode, errmsg}` out."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from app.simulator.errors import WeChatFault
from app.simulator.state import WeChatSimulator
from app.simulator.tokens import IssuedToken


def reply(body: dict[str, Any]) -> Response:
    """JSON as WeChat sends it: UTF-8, Chinese not \\u-escaped, HTTP 200."""
    return Response(orjson.dumps(body), media_type="application/json; charset=utf-8")


def ok(**fields: Any) -> Response:
    return reply({"errcode": 0, "errmsg": "ok", **fields})


async def read_json(request: Request) -> dict[str, Any]:
    """The POST body as an object: 44002 when empty, 47001 when not a JSON object."""
    raw = await request.body()
    if not raw.strip():
        raise WeChatFault(44002)
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise WeChatFault(47001) from exc
    if not isinstance(body, dict):
        raise WeChatFault(47001)
    return body


def require_token(sim: WeChatSimulator, request: Request) -> IssuedToken:
    return sim.tokens.check(request.query_params.get("access_token"))


def check_app(sim: WeChatSimulator, *, grant_type: object, appid: object, secret: object) -> None:
    """Credentials of a token request. A wrong secret answers 40125 (WeChat also uses 40001)."""
    if grant_type != "client_credential":
        raise WeChatFault(40002)
    if not appid:
        raise WeChatFault(41002)
    if appid != sim.config.app_id:
        raise WeChatFault(40013)
    if not secret:
        raise WeChatFault(41004)
    if secret != sim.config.app_secret:
        raise WeChatFault(40125)
