"""Fixtures of the alerts tests: the app on a fake clock, fan builders, a signed client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.config import Settings
from app.core.db import create_sessionmaker
from app.core.redis import Redis
from app.core.resources import Resources
from app.core.time import FakeClock
from app.fans.models import Fan
from app.main import create_app
from app.push.models import Alert, Delivery
from tests.alerts.samples import encode, signed_headers

PostJson = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
async def alerts_app(
    settings: Settings, engine: AsyncEngine, redis: Redis, clock: FakeClock, truncate_tables: None
) -> AsyncIterator[FastAPI]:
    async with httpx.AsyncClient() as http:
        resources = Resources(
            engine=engine,
            sessionmaker=create_sessionmaker(engine),
            redis=redis,
            http=http,
            clock=clock,
            owned=False,
        )
        application = create_app(settings, resources)
        async with application.router.lifespan_context(application):
            yield application


@pytest.fixture
async def api(alerts_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=alerts_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def post_signed(api: httpx.AsyncClient, clock: FakeClock) -> PostJson:
    async def post(
        path: str, body: Any, *, key: str | None = "k-1", method: str = "POST", **kw: Any
    ) -> httpx.Response:
        raw = body if isinstance(body, bytes) else encode(body)
        headers = signed_headers(raw, ts=int(clock.timestamp()), key=key, **kw)
        return await api.request(method, path, content=raw, headers=headers)

    return post


async def add_fans(
    session: AsyncSession, openids: Sequence[str], *, subscribed: bool = True
) -> None:
    session.add_all(
        Fan(openid=o, is_subscribed=subscribed, subscribe_count=1 if subscribed else 0)
        for o in openids
    )
    await session.flush()


async def delivery_rows(session: AsyncSession, alert_id: int) -> list[Delivery]:
    stmt = select(Delivery).where(Delivery.alert_id == alert_id).order_by(Delivery.openid)
    return list(await session.scalars(stmt.execution_options(populate_existing=True)))


async def template_of(
    session: AsyncSession, row: Delivery
) -> tuple[str | None, dict[str, str] | None, str | None]:
    """(template_id, data, url) the fan gets: the row's own, else its alert's (a fan-out row)."""
    if row.template_id is not None:
        return row.template_id, row.data, row.url
    alert = await session.get(Alert, row.alert_id)
    assert alert is not None
    return alert.template_id, alert.data, alert.url
