"""`wxbroker sim`: the simulators as a server of their own (WeChat API at /_sim/wechat)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.simulator.config import SimulatorConfig
from app.simulator.wechat_api import create_wechat_simulator, simulator_of

WECHAT_MOUNT = "/_sim/wechat"


def create_sim_app(settings: Settings, *, wechat: SimulatorConfig | None = None) -> FastAPI:
    """An app serving every simulator under /_sim (the same paths as the dev mount)."""
    wechat_app = create_wechat_simulator(wechat or SimulatorConfig.from_settings(settings))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await simulator_of(wechat_app).aclose()

    app = FastAPI(title="wxbroker simulators", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount(WECHAT_MOUNT, wechat_app)
    mount_other_simulators(app, settings)
    return app


def mount_other_simulators(app: FastAPI, settings: Settings) -> None:
    """Further simulators (the sandbox brokerage at /_sim/broker) are mounted here."""


def create_sim_app_from_env() -> FastAPI:
    """uvicorn factory for `wxbroker sim`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_sim_app(settings)
