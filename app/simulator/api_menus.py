"""Simulated custom-menu endpoints (FACTS §5.4)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.simulator.errors import WeChatFault
from app.simulator.menus import validate_buttons, validate_matchrule
from app.simulator.protocol import ok, read_json, reply, require_token
from app.simulator.state import WeChatSimulator

MENU_CREATE = "/cgi-bin/menu/create"


def menus_router(sim: WeChatSimulator) -> APIRouter:
    router = APIRouter()

    @router.post(MENU_CREATE)
    async def create_menu(request: Request) -> Response:
        require_token(sim, request)
        buttons = validate_buttons(await read_json(request))
        sim.quotas.consume(MENU_CREATE)
        sim.menus.create(buttons)
        return ok()

    @router.get("/cgi-bin/menu/get")
    async def get_menu(request: Request) -> Response:
        require_token(sim, request)
        return reply(sim.menus.get())

    @router.get("/cgi-bin/menu/delete")
    async def delete_menu(request: Request) -> Response:
        require_token(sim, request)
        sim.menus.delete_all()
        return ok()

    @router.get("/cgi-bin/get_current_selfmenu_info")
    async def current_selfmenu_info(request: Request) -> Response:
        require_token(sim, request)
        return reply(sim.menus.current_selfmenu_info())

    @router.post("/cgi-bin/menu/addconditional")
    async def add_conditional(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        buttons = validate_buttons(body)
        rule = validate_matchrule(body.get("matchrule"), set(sim.fans.tags))
        return reply({"menuid": str(sim.menus.add_conditional(buttons, rule))})

    @router.post("/cgi-bin/menu/delconditional")
    async def delete_conditional(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        sim.menus.delete_conditional(body.get("menuid"))
        return ok()

    @router.post("/cgi-bin/menu/trymatch")
    async def try_match(request: Request) -> Response:
        require_token(sim, request)
        body = await read_json(request)
        fan = sim.fans.fans.get(str(body.get("user_id") or ""))
        if fan is None:
            raise WeChatFault(46004)
        return reply({"button": sim.menus.match(fan)})

    return router
