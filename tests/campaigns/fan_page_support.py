"""Builders of the fan page tests: campaigns around the app's clock, fans logged in by OAuth."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import constants as ac
from app.campaigns import campaigns
from app.campaigns.models import Campaign, CampaignPrize, DrawDecision, FanSignal
from app.core.db import unit_of_work
from app.core.time import FakeClock
from tests.accounts.helpers import fan_client, login, page_data
from tests.campaigns.lottery_support import campaign_body

PAGE = "/h5/campaigns"


def sessionmaker_of(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    sm: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    return sm


def now_of(app: FastAPI) -> datetime:
    clock: FakeClock = app.state.clock
    return clock.now()


async def create_around_now(app: FastAPI, code: str = "spring", **overrides: Any) -> None:
    """A campaign open from a day ago to a week from the app's clock (unless overridden)."""
    now = now_of(app)
    values: dict[str, Any] = {"starts_at": now - timedelta(days=1), "ends_at": now + timedelta(7)}
    values.update(overrides)
    async with unit_of_work(sessionmaker_of(app)) as session:
        await campaigns.create_campaign(session, campaign_body(code, **values), actor="t", now=now)


async def set_campaign(app: FastAPI, code: str, **values: Any) -> None:
    async with unit_of_work(sessionmaker_of(app)) as session:
        await session.execute(update(Campaign).where(Campaign.code == code).values(**values))


async def set_awarded(app: FastAPI, prize_code: str, awarded: int) -> None:
    async with unit_of_work(sessionmaker_of(app)) as session:
        stmt = update(CampaignPrize).where(CampaignPrize.code == prize_code)
        await session.execute(stmt.values(awarded=awarded))


async def add_signal(app: FastAPI, openid: str, **values: Any) -> None:
    now = now_of(app)
    async with unit_of_work(sessionmaker_of(app)) as session:
        session.add(FanSignal(openid=openid, is_subscribed=True, updated_at=now, **values))


async def decisions_of(app: FastAPI) -> list[DrawDecision]:
    async with sessionmaker_of(app)() as session:
        return list(await session.scalars(select(DrawDecision).order_by(DrawDecision.id)))


@asynccontextmanager
async def fan_on_page(
    app: FastAPI, openid: str, code: str = "spring"
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A fan logged in through OAuth on the campaign page, and the page's CSRF header."""
    async with fan_client(app) as client:
        html = await login(client, openid, f"{PAGE}/{code}")
        data = page_data(html)
        yield client, {data["csrfHeader"]: data["csrfToken"]}


async def draw(
    client: httpx.AsyncClient, headers: dict[str, str], code: str = "spring"
) -> dict[str, Any]:
    response = await client.post(f"{PAGE}/{code}/draw", headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def session_cookie(client: httpx.AsyncClient) -> str:
    value = client.cookies.get(ac.SESSION_COOKIE)
    assert value
    return value
