"""Application factory: builds the FastAPI app, its resources and background loops."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import Depends, FastAPI

from app.account_center import handlers as account_center_handlers
from app.account_center import router as account_center_router
from app.accounts import handlers as accounts_handlers
from app.accounts import router as accounts_router
from app.accounts import service as accounts_service
from app.alerts import handlers as alerts_handlers
from app.alerts import idempotency as alerts_idempotency
from app.alerts import router as alerts_router
from app.alerts import service as alerts_service
from app.brokerage.client import create_brokerage_gateway
from app.campaigns import attribution as campaigns_attribution
from app.campaigns import lottery as campaigns_lottery
from app.campaigns import router as campaigns_router
from app.campaigns import segments as campaigns_segments
from app.content import default_menu
from app.content import handlers as content_handlers
from app.content import router as content_router
from app.content import service as content_service
from app.core.config import Settings, get_settings
from app.core.errors import install_error_handlers
from app.core.health import router as health_router
from app.core.logging import configure_logging
from app.core.metrics import RequestContextMiddleware
from app.core.resources import Resources
from app.core.routing import FastLaneApp
from app.core.supervisor import Supervisor
from app.fans import service as fans_service
from app.ops import dependencies as ops_dependencies
from app.ops import pages as ops_pages
from app.ops import pushes as ops_pushes
from app.ops import router as ops_router
from app.ops.constants import Role
from app.push import handlers as push_handlers
from app.push import router as push_router
from app.push import service as push_service
from app.push import worker as push_worker
from app.simulator import main as simulators
from app.simulator import phone as phone_emulator
from app.simulator.broker import mount_broker_sandbox
from app.webhook import router as webhook_router
from app.webhook import service as webhook_service
from app.wechat.client import create_wechat_client

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> FastAPI:
    """Build the app. Tests pass settings and (optionally) resources they own."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        res = resources or Resources.create(settings)
        _publish_state(app, settings, res)
        app.state.wechat = create_wechat_client(settings, res.redis, res.http, clock=res.clock)
        app.state.brokerage = create_brokerage_gateway(settings, res.http)
        supervisor = Supervisor()
        app.state.supervisor = supervisor
        start_api_loops(app, supervisor)
        if settings.worker_in_process:
            start_worker_loops(app, supervisor)
        # Start-up objects (routes, models, settings) live for the whole process: move them out
        # of the collector's generations so full collections stop walking them under load.
        gc.freeze()
        log.info("app.started", extra={"environment": settings.environment})
        try:
            yield
        finally:
            await supervisor.stop()
            await stop_api_services(app)
            await app.state.wechat.aclose()
            await app.state.brokerage.aclose()  # its own aiohttp pool for a configured counter
            await res.close()

    app = FastLaneApp(title="wxbroker", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.include_router(health_router)
    include_features(app, settings)
    return app


def _publish_state(app: FastAPI, settings: Settings, res: Resources) -> None:
    app.state.settings = settings
    app.state.resources = res
    app.state.engine = res.engine
    app.state.sessionmaker = res.sessionmaker
    app.state.redis = res.redis
    app.state.http = res.http
    app.state.clock = res.clock


def include_features(app: FastLaneApp, settings: Settings) -> None:
    """Composition root: mount every feature's routers (features never import each other)."""
    if settings.simulator_mounted:
        mount_broker_sandbox(app, settings)  # sandbox counter at /_sim/broker
    wechat_router = webhook_service.WeChatRouter()
    app.state.wechat_router = wechat_router
    app.state.keyword_cache = content_service.KeywordCache(
        refresh_interval_s=settings.content_keyword_refresh_s
    )
    content_handlers.register(wechat_router, keywords=app.state.keyword_cache)
    app.add_fast_lane(webhook_router.ROUTE, webhook_router.asgi_endpoint)  # GET/POST /wechat
    push_handlers.register(wechat_router)
    viewer = Depends(ops_dependencies.require_role(Role.VIEWER))
    app.include_router(push_router.router, dependencies=[viewer])  # status API: staff only
    if settings.simulator_mounted:  # dev: WeChat API simulator at /_sim/wechat
        sim = simulators.mount_wechat_simulator(app, settings)
        # The simulated account's template library holds every alert template, as the real
        # account's must (docs/alerts-ingest.md), so `make run` delivers alerts end to end.
        simulators.seed_templates(sim, alerts_service.template_catalog(settings.alert_template_ids))
        app.include_router(phone_emulator.router)  # fan phone emulator at /_sim/phone
    alerts_handlers.register(wechat_router)
    app.include_router(alerts_router.router)
    accounts_handlers.register(wechat_router)
    # Alerts to "one brokerage customer" fan out to the fans bound to that customer.
    app.state.alerts_customer_resolver = accounts_service.bound_openids_select
    app.include_router(accounts_router.router)  # H5 binding: /h5/bind, /h5/oauth/callback
    account_center_handlers.register(wechat_router)
    app.include_router(account_center_router.router)  # H5 detail pages: /h5/account/...
    app.include_router(ops_router.router)  # ops API: /api/v1/ops/...
    app.include_router(ops_pages.router)  # console pages: /console/...
    app.mount("/console/static", ops_pages.static_files(), name="console-static")
    staff = Depends(ops_dependencies.require_staff())  # viewer reads, operator writes
    app.include_router(content_router.router, dependencies=[staff])  # /api/v1/ops/content
    app.include_router(campaigns_router.ops, dependencies=[staff])  # /api/v1/ops/campaigns
    app.include_router(campaigns_router.ingest)  # signed POST /api/v1/conversions
    app.include_router(campaigns_router.public)  # tracked links: /t/{code}
    app.include_router(campaigns_router.h5)  # fans' campaign pages: /h5/campaigns/{code}


def start_api_loops(app: FastAPI, supervisor: Supervisor) -> None:
    """Loops every API process runs (e.g. the batched inbound-event recorder)."""
    late_reply_sink = partial(
        push_service.enqueue_customer_service_reply,
        app.state.sessionmaker,
        app.state.redis,
        clock=app.state.clock,
    )
    webhook = webhook_service.create_webhook_service(app.state, late_reply_sink=late_reply_sink)
    webhook.recorder.add_listener(fans_service.apply_inbound_records)
    webhook.recorder.add_listener(campaigns_attribution.apply_inbound_records)
    app.state.webhook = webhook
    supervisor.start("webhook.recorder", webhook.recorder.run)
    keywords = app.state.keyword_cache
    supervisor.start("content.keywords", partial(keywords.run, app.state.sessionmaker))
    settings: Settings = app.state.settings
    if default_menu.publishes_at_startup(settings):  # dev menu, to the mounted simulator only
        publish = partial(
            default_menu.publish_at_startup, wechat=app.state.wechat, base_url=settings.base_url
        )
        supervisor.start("content.default_menu", publish)


async def stop_api_services(app: FastAPI) -> None:
    """Flush what API-side loops buffered, after the supervisor stopped them."""
    await simulators.close_mounted_simulators(app)
    webhook = getattr(app.state, "webhook", None)
    if webhook is not None:
        await webhook.drain()
        await webhook.recorder.flush()


def start_worker_loops(app: FastAPI, supervisor: Supervisor) -> None:
    """Queue consumers; run by `wxbroker worker`, or in-process on the embedded default."""
    push_worker.start_loops(
        supervisor,
        sessionmaker=app.state.sessionmaker,
        redis=app.state.redis,
        wechat=app.state.wechat,
        clock=app.state.clock,
        config=push_worker.config_from_settings(app.state.settings),
    )
    schedule = partial(  # approved ops pushes whose send time came
        ops_pushes.scheduler_loop,
        app.state.sessionmaker,
        app.state.clock,
        ops_pushes.fan_out_config(app.state.settings),
    )
    supervisor.start("ops.push_scheduler", schedule)
    purge = partial(
        alerts_idempotency.run_purge_loop,
        sessionmaker=app.state.sessionmaker,
        clock=app.state.clock,
    )
    supervisor.start("alerts.idempotency_purge", purge)  # Idempotency-Keys past 24 h
    sessionmaker, clock = app.state.sessionmaker, app.state.clock
    feed = partial(campaigns_segments.segment_feed_loop, sessionmaker, clock)
    supervisor.start("campaigns.segment_feed", feed)  # inbound_event -> signals, segments
    sweep = partial(campaigns_segments.segment_sweep_loop, sessionmaker, clock)
    supervisor.start("campaigns.segment_sweep", sweep)  # dormancy, bindings off the webhook
    mirror = partial(campaigns_segments.tag_mirror_loop, sessionmaker, app.state.wechat, clock)
    supervisor.start("campaigns.tag_mirror", mirror)  # segments -> WeChat tags
    redis = app.state.redis
    reconcile = partial(campaigns_lottery.reconcile_loop, sessionmaker, redis, clock)
    supervisor.start("campaigns.lottery_reconcile", reconcile)  # Redis vs PostgreSQL
    release = partial(campaigns_lottery.release_loop, sessionmaker, clock)
    supervisor.start("campaigns.payout_release", release)  # deferred payouts


def create_app_from_env() -> FastAPI:
    """uvicorn factory entry point (`app.main:create_app_from_env`)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    return create_app(settings)
