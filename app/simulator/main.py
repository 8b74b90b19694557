"""Simulators as an app of their own (`wxbroker sim`) and as the dev mount inside the service."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI

from app.core.config import Settings, get_settings
from app.core.logging import configure_logging
from app.simulator.broker import mount_broker_sandbox
from app.simulator.config import SimulatorConfig
from app.simulator.state import WeChatSimulator
from app.simulator.template_messages import Template
from app.simulator.wechat_api import create_wechat_simulator, simulator_of

WECHAT_MOUNT = "/_sim/wechat"
CALLBACK_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def mount_wechat_simulator(app: FastAPI, settings: Settings) -> WeChatSimulator:
    """Dev mode: serve the simulator at /_sim/wechat of `app`.

    Its TEMPLATESENDJOBFINISH pushes go in-process (ASGI) to this same app's `/wechat`, so they
    arrive whatever PUBLIC_BASE_URL points at. Close it with `close_mounted_simulators`.
    """
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=settings.base_url, timeout=CALLBACK_TIMEOUT
    )
    config = SimulatorConfig.from_settings(settings)
    wechat_app = create_wechat_simulator(config, callback_http=http, close_callback_http=True)
    app.mount(WECHAT_MOUNT, wechat_app)
    sim = simulator_of(wechat_app)
    app.state.wechat_simulator = sim
    return sim


def seed_templates(sim: WeChatSimulator, templates: Iterable[tuple[str, str, str]]) -> None:
    """Add (template id, title, content) entries the account's template library lacks."""
    for template_id, title, content in templates:
        if template_id not in sim.templates:
            sim.templates[template_id] = Template(template_id, title, content)


async def close_mounted_simulators(app: FastAPI) -> None:
    """Mounted apps get no lifespan of their own: the host closes them on shutdown."""
    sim: WeChatSimulator | None = getattr(app.state, "wechat_simulator", None)
    if sim is not None:
        await sim.aclose()


def create_sim_app(settings: Settings, *, wechat: SimulatorConfig | None = None) -> FastAPI:
    """Every simulator under /_sim, the same paths as the dev mount; pushes go over HTTP."""
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
    mount_broker_sandbox(app, settings)


def create_sim_app_from_env() -> FastAPI:
    """uvicorn factory for `wxbroker sim`."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_sim_app(settings)
