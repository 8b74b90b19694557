"""Lottery campaign configs: window, eligibility rules, prizes with inventory and limits.

Refused outright: eligibility or a reward that depends on following the account or sharing
(WeChat's operating rules forbid inducing follows and shares) and a top prize above
50,000 CNY (a securities-marketing limit).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.errors import (
    CampaignExistsError,
    CampaignNotFoundError,
    CampaignRefusedError,
    InvalidChannelError,
)
from app.campaigns.models import Campaign, CampaignPrize
from app.campaigns.repository import CampaignRepository
from app.campaigns.schemas import CampaignCreate, CampaignRead, PrizeCreate, PrizeRead
from app.core.audit import AuditTrail

KNOWN_RULES = {r.value for r in c.Eligibility}


def _forbidden(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in c.FORBIDDEN_CONDITION_WORDS)


def validate_campaign(body: CampaignCreate) -> None:
    """Raise `CampaignRefusedError` for configs WeChat or regulation forbid, and
    `InvalidChannelError` for merely malformed ones."""
    for rule in body.eligibility:
        if _forbidden(rule):
            raise CampaignRefusedError(
                f"eligibility {rule!r} depends on following or sharing (WeChat forbids it)"
            )
        if rule not in KNOWN_RULES:
            raise InvalidChannelError(f"unknown eligibility rule {rule!r}")
    for prize in body.prizes:
        if prize.condition is not None and _forbidden(prize.condition):
            raise CampaignRefusedError(
                f"prize {prize.code!r} depends on following or sharing (WeChat forbids it)"
            )
        if prize.condition is not None and prize.condition not in KNOWN_RULES:
            raise InvalidChannelError(f"unknown prize condition {prize.condition!r}")
    top = max(p.value for p in body.prizes)
    if top > Decimal(c.TOP_PRIZE_MAX_VALUE_CNY):
        raise CampaignRefusedError(
            f"top prize {top} CNY is above the {c.TOP_PRIZE_MAX_VALUE_CNY} CNY limit"
        )
    if body.ends_at <= body.starts_at:
        raise InvalidChannelError("ends_at must be after starts_at")
    if len({p.code for p in body.prizes}) != len(body.prizes):
        raise InvalidChannelError("prize codes must be unique")


async def create_campaign(
    session: AsyncSession, body: CampaignCreate, *, actor: str, now: datetime
) -> CampaignRead:
    """Validate and store a campaign; its inventory reaches Redis on the first draw."""
    validate_campaign(body)
    repo = CampaignRepository(session)
    if await repo.get_by_code(body.code) is not None:
        raise CampaignExistsError(f"campaign {body.code} exists")
    # A prize's own condition is an extra eligibility rule for the whole draw: a draw
    # cannot know the prize in advance, so conditions are folded into the campaign.
    rules = list(
        dict.fromkeys([*body.eligibility, *(p.condition for p in body.prizes if p.condition)])
    )
    campaign = Campaign(
        code=body.code,
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        eligibility=rules,
        win_probability=body.win_probability,
        person_draws_per_day=body.person_draws_per_day,
        scene_draws_per_hour=body.scene_draws_per_hour,
        payout_after=body.payout_after.value if body.payout_after else None,
        payout_hold_hours=body.payout_hold_hours,
        is_active=True,
        created_by=actor,
        created_at=now,
    )
    await repo.add(campaign)
    for prize in body.prizes:
        session.add(
            CampaignPrize(
                campaign_id=campaign.id,
                code=prize.code,
                name=prize.name,
                value=prize.value,
                inventory=prize.inventory,
                daily_limit=prize.daily_limit,
                awarded=0,
            )
        )
    await session.flush()
    return await get_campaign(session, body.code)


async def get_campaign_row(session: AsyncSession, code: str) -> Campaign:
    campaign = await CampaignRepository(session).get_by_code(code)
    if campaign is None:
        raise CampaignNotFoundError(f"no campaign {code}")
    return campaign


def to_read(campaign: Campaign, prizes: list[CampaignPrize]) -> CampaignRead:
    return CampaignRead(
        code=campaign.code,
        name=campaign.name,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        eligibility=list(campaign.eligibility),
        win_probability=campaign.win_probability,
        person_draws_per_day=campaign.person_draws_per_day,
        scene_draws_per_hour=campaign.scene_draws_per_hour,
        payout_after=campaign.payout_after,
        payout_hold_hours=campaign.payout_hold_hours,
        is_active=campaign.is_active,
        prizes=[PrizeRead.model_validate(p) for p in prizes],
    )


async def get_campaign(session: AsyncSession, code: str) -> CampaignRead:
    campaign = await get_campaign_row(session, code)
    return to_read(campaign, await CampaignRepository(session).prizes(campaign.id))


async def list_campaigns(session: AsyncSession, *, limit: int, offset: int) -> list[CampaignRead]:
    repo = CampaignRepository(session)
    rows = await repo.list_all(limit=limit, offset=offset)
    return [to_read(row, await repo.prizes(row.id)) for row in rows]


async def close_campaign(
    session: AsyncSession, code: str, *, reason: str, audit: AuditTrail
) -> CampaignRead:
    """Ops switch a campaign off for good (a new code runs it again): draws are refused from
    the commit on, a draw in flight either commits its award first or is refused (the row
    lock in `lottery._award`), and prizes already won keep their review and payout. Closing a
    closed campaign changes nothing and is not audited again."""
    campaign = await get_campaign_row(session, code)
    if campaign.is_active:
        campaign.is_active = False
        await session.flush()
        await audit.record(
            "campaign.close",
            target_type="campaign",
            target_id=campaign.code,
            before={"is_active": True},
            after={"is_active": False, "reason": reason},
        )
    return await get_campaign(session, code)


def demo_campaign(now: datetime) -> CampaignCreate:
    """The embedded default's demo campaign (`wxbroker dev`): bound customers draw for two
    cash prizes, paid after a first trade is confirmed."""
    return CampaignCreate(
        code=c.DEMO_CAMPAIGN_CODE,
        name="绑定有礼抽奖（演示）",
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=365),
        eligibility=[c.Eligibility.BOUND_CUSTOMER.value],
        win_probability=Decimal("0.8"),
        person_draws_per_day=3,
        payout_after=c.ConversionKind.FIRST_TRADE,
        prizes=[
            PrizeCreate(code="cash88", name="88元现金红包", value=Decimal("88.00"), inventory=20),
            PrizeCreate(code="cash8", name="8.8元现金红包", value=Decimal("8.80"), inventory=500),
        ],
    )


async def ensure_demo_campaign(session: AsyncSession, *, now: datetime) -> bool:
    """Create the demo campaign unless it exists (ops may have changed it); True if created."""
    if await CampaignRepository(session).get_by_code(c.DEMO_CAMPAIGN_CODE) is not None:
        return False
    await create_campaign(session, demo_campaign(now), actor="wxbroker-dev", now=now)
    return True
