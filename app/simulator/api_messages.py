"""Simulated message endpoints: template send/list/delete and customer-service send."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.simulator.callbacks import SUCCESS
from app.simulator.errors import WeChatFault
from app.simulator.limits import TEMPLATE_SEND
from app.simulator.protocol import ok, read_json, require_token
from app.simulator.state import WeChatSimulator
from app.simulator.template_messages import validate_data

CUSTOM_SEND = "/cgi-bin/message/custom/send"
MAX_NEWS_ARTICLES = 1  # CS news messages carry one article since 2018
MINIPROGRAM_FIELDS = ("title", "appid", "pagepath", "thumb_media_id")
MEDIA_TYPES = frozenset({"image", "voice", "video", "mpnews"})
# Accepted with only the object present; the product does not send these.
LOOSE_TYPES = frozenset({"music", "mpnewsarticle", "msgmenu", "wxcard"})


def _link(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    url, mini = body.get("url"), body.get("miniprogram")
    if url is not None and (
        not isinstance(url, str) or not url.startswith(("http://", "https://"))
    ):
        raise WeChatFault(47003, "url invalid")
    if mini is not None and not (
        isinstance(mini, dict) and isinstance(mini.get("appid"), str) and mini.get("appid")
    ):
        raise WeChatFault(47003, "miniprogram.appid invalid")
    return url, mini


def accept_template(sim: WeChatSimulator, body: dict[str, Any]) -> int:
    """Validate and deliver a template message; a repeated client_msg_id gets the first msgid."""
    template = sim.templates.get(str(body.get("template_id") or ""))
    if template is None:
        raise WeChatFault(40037)
    fan = sim.fans.get(body.get("touser"))
    if not fan.subscribed:
        raise WeChatFault(43004)
    shown = validate_data(template, body.get("data") or {})
    url, mini = _link(body)
    client_msg_id = body.get("client_msg_id")
    if client_msg_id is not None and (not isinstance(client_msg_id, str) or not client_msg_id):
        raise WeChatFault(47003, "client_msg_id invalid")
    now = sim.now()
    if client_msg_id:
        first = sim.dedupe.lookup(fan.openid, client_msg_id, now)
        if first is not None:
            sim.stats["template_duplicates"] += 1
            return first
    sim.template_rate.hit()
    sim.quotas.consume(TEMPLATE_SEND)
    msgid = sim.next_msgid()
    if client_msg_id:
        sim.dedupe.remember(fan.openid, client_msg_id, msgid, now)
        sim.unique_client_msg_ids.add(client_msg_id)
    settings = sim.callbacks.settings
    status = settings.choose_outcome(sim.rng) if settings.active else SUCCESS
    payload = {
        "template_id": template.template_id,
        "title": template.title,
        "data": shown,
        "content": template.render(shown),
        "url": url,
        "miniprogram": mini,
        "client_msg_id": client_msg_id,
    }
    entry = {"kind": "template", "msgid": msgid, "time": int(now), "status": status}
    sim.inbox.add(fan.openid, {**entry, "payload": payload})
    sim.stats["template_accepted"] += 1
    sim.callbacks.enqueue(openid=fan.openid, msgid=msgid, status=status, create_time=int(now))
    return msgid


def _require_fields(part: dict[str, Any], msgtype: str, fields: tuple[str, ...]) -> None:
    for name in fields:
        if not isinstance(part.get(name), str) or not part[name]:
            raise WeChatFault(47003, f"{msgtype}.{name} missing")


def _check_custom(msgtype: str, part: object) -> None:
    """Per-msgtype body rules of the customer-service API (FACTS §5.3)."""
    if not isinstance(part, dict):
        raise WeChatFault(47001, f"{msgtype} missing")
    if msgtype == "text":
        content = part.get("content")
        if not isinstance(content, str) or not content.strip():
            raise WeChatFault(44004)
    elif msgtype == "news":
        articles = part.get("articles")
        if not isinstance(articles, list) or not articles:
            raise WeChatFault(44003)
        if len(articles) > MAX_NEWS_ARTICLES:
            raise WeChatFault(45008)
        if not isinstance(articles[0], dict) or not articles[0].get("title"):
            raise WeChatFault(47003, "news.articles.title missing")
    elif msgtype == "miniprogrampage":
        _require_fields(part, msgtype, MINIPROGRAM_FIELDS)
    elif msgtype in MEDIA_TYPES:
        if not part.get("media_id"):
            raise WeChatFault(40007)
    elif msgtype not in LOOSE_TYPES:
        raise WeChatFault(40008)


def accept_custom(sim: WeChatSimulator, body: dict[str, Any]) -> None:
    fan = sim.fans.get(body.get("touser"))
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str):
        raise WeChatFault(40008)
    _check_custom(msgtype, body.get(msgtype))
    if not fan.subscribed:
        raise WeChatFault(45015)
    sim.quotas.consume(CUSTOM_SEND)
    payload = {"msgtype": msgtype, msgtype: body[msgtype]}
    entry = {"kind": "custom", "msgid": None, "time": int(sim.now()), "status": SUCCESS}
    sim.inbox.add(fan.openid, {**entry, "payload": payload})
    sim.stats["custom_sent"] += 1


def messages_router(sim: WeChatSimulator) -> APIRouter:
    router = APIRouter()

    @router.post(TEMPLATE_SEND)
    async def send_template(request: Request) -> Response:
        require_token(sim, request)
        try:
            msgid = accept_template(sim, await read_json(request))
        except WeChatFault:
            sim.stats["template_rejected"] += 1
            raise
        return ok(msgid=msgid)

    @router.get("/cgi-bin/template/get_all_private_template")
    async def list_templates(request: Request) -> Response:
        require_token(sim, request)
        listing = [t.listing() for t in sim.templates.values()]
        return ok(template_list=listing)

    @router.post("/cgi-bin/template/del_private_template")
    async def delete_template(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        if sim.templates.pop(str(body.get("template_id") or ""), None) is None:
            raise WeChatFault(40037)
        return ok()

    @router.post(CUSTOM_SEND)
    async def send_custom(request: Request) -> Response:
        require_token(sim, request)
        accept_custom(sim, await read_json(request))
        return ok()

    return router
