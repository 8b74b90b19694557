"""The WeChat API simulator app: WeChat's paths at its root, plus /stats, /inbox and /_admin."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from starlette.responses import Response

from app.core.errors import install_error_handlers
from app.simulator.admin import admin_router
from app.simulator.api_credentials import credentials_router
from app.simulator.api_menus import menus_router
from app.simulator.api_messages import messages_router
from app.simulator.api_oauth import oauth_router
from app.simulator.api_users import users_router
from app.simulator.config import SimulatorConfig
from app.simulator.errors import WeChatFault
from app.simulator.faults import FaultMiddleware
from app.simulator.protocol import reply
from app.simulator.state import WeChatSimulator

log = logging.getLogger(__name__)


def create_wechat_simulator(
    config: SimulatorConfig,
    *,
    callback_http: httpx.AsyncClient | None = None,
    close_callback_http: bool = False,
) -> FastAPI:
    """Build the simulator. `app.state.simulator` is its state (tests may inspect it).

    Mounted inside another app, its lifespan does not run: the host calls
    `app.state.simulator.aclose()` on shutdown (app.main does). An injected `callback_http`
    (tests route pushes to an app via ASGITransport) is closed only if `close_callback_http`.
    """
    sim = WeChatSimulator(
        config, callback_http=callback_http, close_callback_http=close_callback_http
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await sim.aclose()

    app = FastAPI(
        title="WeChat API simulator",
        lifespan=lifespan,
        docs_url="/_admin/docs",
        openapi_url="/_admin/openapi.json",
        redoc_url=None,
    )
    app.state.simulator = sim
    install_error_handlers(app)

    async def wechat_fault(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, WeChatFault)
        sim.count_error(exc.errcode)
        return reply({"errcode": exc.errcode, "errmsg": exc.errmsg})

    app.add_exception_handler(WeChatFault, wechat_fault)
    for router in (
        credentials_router(sim),
        messages_router(sim),
        menus_router(sim),
        users_router(sim),
        oauth_router(sim),
        admin_router(sim),
    ):
        app.include_router(router)
    app.add_middleware(
        FaultMiddleware,
        faults=sim.faults,
        rng=sim.rng,
        sleep=config.sleep,
        max_hang_s=config.max_hang_s,
        on_call=sim.count_call,
        on_error=sim.count_error,
    )
    return app


def simulator_of(app: FastAPI) -> WeChatSimulator:
    sim: WeChatSimulator = app.state.simulator
    return sim
