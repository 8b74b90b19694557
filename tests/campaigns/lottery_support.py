"""Builders of the lottery and abuse tests: campaigns, bindings, conversions, a Lottery."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import AccountBinding
from app.campaigns import campaigns
from app.campaigns.lottery import Lottery
from app.campaigns.models import ConversionEvent, DrawDecision, Person, PrizeAward
from app.campaigns.schemas import CampaignCreate
from app.core.db import create_sessionmaker, unit_of_work
from app.core.time import FakeClock

START = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
END = START + timedelta(days=30)


def campaign_body(code: str = "spring", **overrides: Any) -> CampaignCreate:
    values: dict[str, Any] = {
        "code": code,
        "name": "春季开户礼",
        "starts_at": START,
        "ends_at": END,
        "prizes": [{"code": "cash", "name": "现金红包", "value": "88.00", "inventory": 10}],
    }
    values.update(overrides)
    return CampaignCreate.model_validate(values)


@pytest.fixture
def sessionmaker(engine: AsyncEngine, truncate_tables: None) -> async_sessionmaker[AsyncSession]:
    return create_sessionmaker(engine)


@pytest.fixture
def lottery_clock() -> FakeClock:
    return FakeClock(current=START + timedelta(days=1))


@pytest.fixture
def lottery(
    sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, lottery_clock: FakeClock
) -> Lottery:
    return Lottery(sessionmaker, redis, lottery_clock, random.Random(7))


async def create(sessionmaker: async_sessionmaker[AsyncSession], **overrides: Any) -> None:
    async with unit_of_work(sessionmaker) as session:
        await campaigns.create_campaign(session, campaign_body(**overrides), actor="t", now=START)


async def bind(sessionmaker: async_sessionmaker[AsyncSession], openid: str, client_id: str) -> None:
    async with unit_of_work(sessionmaker) as session:
        session.add(
            AccountBinding(
                openid=openid,
                client_id=client_id,
                account_id=f"A-{client_id}",
                account_no_masked="****0001",
                account_type="cash",
                is_default=True,
                consent_version="v1",
                consented_at=START,
                bound_at=START,
            )
        )


async def convert(
    sessionmaker: async_sessionmaker[AsyncSession], openid: str, kind: str, at: datetime
) -> None:
    async with unit_of_work(sessionmaker) as session:
        person = await session.scalar(select(Person).where(Person.openid == openid))
        if person is None:
            person = Person(openid=openid)
            session.add(person)
            await session.flush()
        session.add(
            ConversionEvent(
                event_id=f"{kind}:{openid}",
                person_id=person.id,
                kind=kind,
                occurred_at=at,
                received_at=at,
            )
        )


async def award_count(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    async with sessionmaker() as session:
        return int(await session.scalar(select(func.count()).select_from(PrizeAward)) or 0)


async def decisions(sessionmaker: async_sessionmaker[AsyncSession]) -> list[DrawDecision]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(DrawDecision).order_by(DrawDecision.id)))


def cny(value: str) -> Decimal:
    return Decimal(value)
