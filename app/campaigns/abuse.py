"""Abuse controls for bonus hunters: a blacklist, per-person and per-scene velocity limits
and a risk score (fresh follows in a burst from one scene, an account opened minutes before
drawing, a follow minutes before drawing). Callers record every decision with its reason.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.errors import CampaignExistsError, CampaignNotFoundError
from app.campaigns.models import Campaign, DrawBlacklist, FanSignal
from app.campaigns.repository import BlacklistRepository, ConversionLookup, FanSignalRepository
from app.core.time import BEIJING

log = logging.getLogger(__name__)


# -- blacklist -----------------------------------------------------------------------------


async def add_to_blacklist(
    session: AsyncSession,
    *,
    kind: c.BlacklistKind,
    value: str,
    reason: str,
    actor: str,
    now: datetime,
) -> DrawBlacklist:
    repo = BlacklistRepository(session)
    if await repo.get(kind.value, value) is not None:
        raise CampaignExistsError(f"{kind.value} already blacklisted")
    row = DrawBlacklist(
        kind=kind.value, value=value, reason=reason, created_by=actor, created_at=now
    )
    return await repo.add(row)


async def remove_from_blacklist(
    session: AsyncSession, *, kind: c.BlacklistKind, value: str
) -> None:
    row = await BlacklistRepository(session).get(kind.value, value)
    if row is None:
        raise CampaignNotFoundError(f"{kind.value} is not blacklisted")
    await session.delete(row)
    await session.flush()


async def list_blacklist(session: AsyncSession, *, limit: int, offset: int) -> list[DrawBlacklist]:
    return await BlacklistRepository(session).list_all(limit=limit, offset=offset)


async def blacklisted(
    session: AsyncSession, identifiers: Iterable[tuple[str, str]], scene: str | None
) -> DrawBlacklist | None:
    """The first blacklist entry matching any identifier of the person or their QR scene."""
    pairs = list(identifiers)
    if scene:
        pairs.append((c.BlacklistKind.SCENE.value, scene))
    return await BlacklistRepository(session).matching(pairs)


# -- velocity ------------------------------------------------------------------------------


async def _bump(redis: Redis, key: str, ttl_s: int) -> int:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, ttl_s)
        count, _ = await pipe.execute()
    return int(count)


def _person_key(campaign: Campaign, person_id: int, now: datetime) -> str:
    return f"lot:{{{campaign.id}}}:vel:p:{person_id}:{now.astimezone(BEIJING):%Y%m%d}"


async def check_velocity(
    redis: Redis, campaign: Campaign, *, person_id: int, scene: str | None, now: datetime
) -> tuple[c.Refusal, str] | None:
    """Count this draw attempt; why (and the recorded reason) when the person or their QR
    scene drew too often."""
    person_key = _person_key(campaign, person_id, now)
    if await _bump(redis, person_key, 86_400 * 2) > campaign.person_draws_per_day:
        limit = campaign.person_draws_per_day
        return c.Refusal.PERSON_LIMIT, f"velocity: more than {limit} draws per person per day"
    if scene:
        scene_key = f"lot:{{{campaign.id}}}:vel:s:{scene}:{now.astimezone(BEIJING):%Y%m%d%H}"
        if await _bump(redis, scene_key, 7200) > campaign.scene_draws_per_hour:
            limit = campaign.scene_draws_per_hour
            return (
                c.Refusal.SCENE_LIMIT,
                f"velocity: more than {limit} draws per hour from scene {scene}",
            )
    return None


async def draws_today(redis: Redis, campaign: Campaign, *, person_id: int, now: datetime) -> int:
    """Draw attempts the person made this Beijing day (read only: for the fan's page)."""
    raw = await redis.get(_person_key(campaign, person_id, now))
    return int(raw) if raw is not None else 0


# -- risk score ----------------------------------------------------------------------------


@dataclass(slots=True)
class Risk:
    score: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: int, reason: str) -> None:
        self.score = min(100, self.score + points)
        self.reasons.append(reason)

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons) or "no risk signal"


async def assess_risk(
    session: AsyncSession, *, signal: FanSignal | None, person_id: int, now: datetime
) -> Risk:
    """Score a draw 0-100 and remember high scores on the fan (the bonus-hunter segment)."""
    risk = Risk()
    if signal is not None and signal.risk_score >= c.RISK_BURST_FOLLOW:
        risk.add(c.RISK_BURST_FOLLOW, signal.risk_reason or "follow burst")
    followed = signal.followed_at if signal is not None else None
    if followed is not None and now - followed < timedelta(seconds=c.FRESH_FOLLOW_S):
        risk.add(
            c.RISK_FRESH_FOLLOW, f"followed {int((now - followed).total_seconds())}s before drawing"
        )
    opened = await ConversionLookup(session).first_at(person_id, c.ConversionKind.ACCOUNT_OPENED)
    if opened is not None and timedelta(0) <= now - opened < timedelta(seconds=c.FRESH_ACCOUNT_S):
        risk.add(
            c.RISK_FRESH_ACCOUNT,
            f"account opened {int((now - opened).total_seconds())}s before drawing",
        )
    if signal is not None and risk.score >= c.BONUS_HUNTER_SCORE:
        await FanSignalRepository(session).raise_risk(signal.openid, risk.score, risk.reason)
        log.warning("campaigns.abuse.risky_draw", extra={"score": risk.score})
    return risk
