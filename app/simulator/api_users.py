"""Simulated user, tag and QR-code endpoints (FACTS §5.5, §5.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.simulator.errors import WeChatFault
from app.simulator.fans import Fan
from app.simulator.protocol import ok, read_json, reply, require_token
from app.simulator.state import WeChatSimulator

USER_INFO = "/cgi-bin/user/info"
QRCODE_CREATE = "/cgi-bin/qrcode/create"
MAX_BATCH_INFO = 100
MAX_BATCH_TAGGING = 50
USER_PAGE = 10_000


def _openid_list(sim: WeChatSimulator, values: object, limit: int) -> list[Fan]:
    if not isinstance(values, list) or not 0 < len(values) <= limit:
        raise WeChatFault(40032)
    return [sim.fans.get(v) for v in values]


def _page(openids: list[str], next_openid: str | None) -> dict[str, Any]:
    start = openids.index(next_openid) + 1 if next_openid in openids else 0
    chunk = openids[start : start + USER_PAGE]
    return {
        "total": len(openids),
        "count": len(chunk),
        "data": {"openid": chunk},
        "next_openid": chunk[-1] if chunk else "",
    }


def users_router(sim: WeChatSimulator) -> APIRouter:  # noqa: C901 - one route table
    router = APIRouter()

    @router.get(USER_INFO)
    async def user_info(request: Request) -> Response:
        require_token(sim, request)
        openid = request.query_params.get("openid")
        if not openid:
            raise WeChatFault(41009)
        fan = sim.fans.get(openid)
        sim.quotas.consume(USER_INFO)
        return reply(fan.info())

    @router.post("/cgi-bin/user/info/batchget")
    async def batch_user_info(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        items = body.get("user_list")
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise WeChatFault(40032)
        fans = _openid_list(sim, [i.get("openid") for i in items], MAX_BATCH_INFO)
        return reply({"user_info_list": [f.info() for f in fans]})

    @router.get("/cgi-bin/user/get")
    async def list_followers(request: Request) -> Response:
        require_token(sim, request)
        next_openid = request.query_params.get("next_openid") or None
        return reply(_page(sim.fans.subscribed_openids(), next_openid))

    @router.post("/cgi-bin/user/info/updateremark")
    async def update_remark(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        sim.fans.get(body.get("openid")).remark = str(body.get("remark", ""))[:30]
        return ok()

    @router.post("/cgi-bin/tags/create")
    async def create_tag(request: Request) -> Response:
        require_token(sim, request)
        tag_body = (await read_json(request)).get("tag")
        name = tag_body.get("name") if isinstance(tag_body, dict) else None
        tag = sim.fans.create_tag(name)
        return reply({"tag": {"id": tag.id, "name": tag.name}})

    @router.get("/cgi-bin/tags/get")
    async def get_tags(request: Request) -> Response:
        require_token(sim, request)
        return reply({"tags": sim.fans.tag_counts()})

    @router.post("/cgi-bin/tags/update")
    async def update_tag(request: Request) -> Response:
        require_token(sim, request)
        tag_body = (await read_json(request)).get("tag")
        if not isinstance(tag_body, dict):
            raise WeChatFault(47001)
        tag = sim.fans.tag(tag_body.get("id"))
        name = tag_body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise WeChatFault(45157)
        tag.name = name
        return ok()

    @router.post("/cgi-bin/tags/delete")
    async def delete_tag(request: Request) -> Response:
        require_token(sim, request)
        tag_body = (await read_json(request)).get("tag")
        sim.fans.delete_tag(tag_body.get("id") if isinstance(tag_body, dict) else None)
        return ok()

    @router.post("/cgi-bin/tags/members/batchtagging")
    async def batch_tag(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        tag = sim.fans.tag(body.get("tagid"))
        fans = _openid_list(sim, body.get("openid_list"), MAX_BATCH_TAGGING)
        sim.fans.set_tag(fans, tag, on=True)
        return ok()

    @router.post("/cgi-bin/tags/members/batchuntagging")
    async def batch_untag(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        tag = sim.fans.tag(body.get("tagid"))
        fans = _openid_list(sim, body.get("openid_list"), MAX_BATCH_TAGGING)
        sim.fans.set_tag(fans, tag, on=False)
        return ok()

    @router.post("/cgi-bin/tags/getidlist")
    async def tags_of_fan(request: Request) -> Response:
        require_token(sim, request)
        fan = sim.fans.get((await read_json(request)).get("openid"))
        return reply({"tagid_list": list(fan.tag_ids)})

    @router.post("/cgi-bin/user/tag/get")
    async def fans_of_tag(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        tag = sim.fans.tag(body.get("tagid"))
        page = _page(sim.fans.members(tag.id), body.get("next_openid") or None)
        del page["total"]
        return reply(page)

    @router.post(QRCODE_CREATE)
    async def create_qrcode(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        code = sim.qrcodes.create(body, sim.now())
        sim.quotas.consume(QRCODE_CREATE)
        answer: dict[str, Any] = {"ticket": code.ticket, "url": code.url}
        if code.expires_at is not None:
            answer["expire_seconds"] = int(code.expires_at - sim.now())
        return reply(answer)

    return router
