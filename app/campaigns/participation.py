"""The fan's side of a lottery campaign: what the H5 page shows and a draw from it.

The openid always comes from the caller's H5 session (never from a parameter). A draw goes
through the same `Lottery.draw` as the ops route (atomic Redis pick, database claims, abuse
controls, a recorded decision); this module adds one tap at a time per fan and campaign and
turns the result into polite Chinese.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import constants as accounts_constants
from app.campaigns import abuse, lottery, texts
from app.campaigns import constants as c
from app.campaigns.errors import (
    CampaignNotFoundError,
    CampaignPageNotFoundError,
    DrawUnavailableError,
)
from app.campaigns.models import Campaign, CampaignPrize, PrizeAward
from app.campaigns.repository import (
    AwardRepository,
    CampaignRepository,
    DecisionRepository,
    PersonRepository,
)
from app.campaigns.schemas import CAMPAIGN_CODE, FanDrawRead, PageLink
from app.core.security import mask_openid
from app.core.time import BEIJING

log = logging.getLogger(__name__)
Outcome = c.DrawOutcome
BIND_LINK = PageLink(href=accounts_constants.BIND_PAGE_PATH, label=texts.BIND_LINK)
CODE_RE = re.compile(CAMPAIGN_CODE)
RELEASE_LOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class PrizeLine:
    name: str
    value: str
    quantity: str  # the published quantity
    stock: str  # what is left, roughly
    daily_limit: str | None


@dataclass(frozen=True, slots=True)
class FanStatus:
    headline: str
    detail: str
    can_draw: bool
    tone: str  # ok | won | warn: the page's colour
    link: PageLink | None = None


@dataclass(frozen=True, slots=True)
class CampaignPage:
    code: str
    name: str
    window: str
    rules: list[str]
    prizes: list[PrizeLine]
    status: FanStatus


# -- wording ---------------------------------------------------------------------------------


def _when(at: datetime) -> str:
    return texts.DATETIME.format(d=at.astimezone(BEIJING))


def payout_rule(campaign: Campaign) -> str:
    """The deferred-payout rule in words (without the final full stop)."""
    hours = campaign.payout_hold_hours
    if campaign.payout_after is not None:
        action = texts.CONVERSION_ACTIONS.get(campaign.payout_after, campaign.payout_after)
        if hours:
            return texts.PAYOUT_AFTER_ACTION_HOLD.format(action=action, hours=hours)
        return texts.PAYOUT_AFTER_ACTION.format(action=action)
    return texts.PAYOUT_HOLD.format(hours=hours) if hours else texts.PAYOUT_SOON


def rules_of(campaign: Campaign) -> list[str]:
    """Eligibility, limits, odds and payout, as the page lists them."""
    needs = [texts.RULE_TEXTS.get(str(rule), str(rule)) for rule in campaign.eligibility]
    rules = ["参与条件：" + "，且".join(needs) if needs else texts.RULE_EVERYONE]
    rules.append(texts.RULE_PER_DAY.format(n=campaign.person_draws_per_day))
    rules.append(texts.RULE_ONE_PRIZE)
    if campaign.win_probability < 1:
        percent = (campaign.win_probability * 100).quantize(Decimal("0.01")).normalize()
        rules.append(texts.RULE_ODDS.format(percent=f"{percent:f}"))
    else:
        rules.append(texts.RULE_WHILE_STOCKS_LAST)
    rules.append(payout_rule(campaign))
    rules.append(texts.RULE_NO_FOLLOW)
    return rules


def stock_text(prize: CampaignPrize) -> str:
    """Roughly what is left: exact counts would tell bonus hunters when to strike."""
    left = prize.inventory - prize.awarded
    if left <= 0:
        return texts.STOCK_NONE
    if left * 10 <= prize.inventory:
        return texts.STOCK_FEW
    if left * 2 <= prize.inventory:
        return texts.STOCK_SOME
    return texts.STOCK_PLENTY


def prize_line(prize: CampaignPrize) -> PrizeLine:
    daily = prize.daily_limit
    return PrizeLine(
        name=prize.name,
        value=texts.PRIZE_VALUE.format(value=f"{prize.value:,.2f}"),
        quantity=texts.PRIZE_QUANTITY.format(n=prize.inventory),
        stock=stock_text(prize),
        daily_limit=texts.PRIZE_DAILY_LIMIT.format(n=daily) if daily else None,
    )


# -- the page ----------------------------------------------------------------------------------


async def get_campaign_for_page(session: AsyncSession, code: str) -> Campaign:
    """The campaign behind a page URL; `CampaignPageNotFoundError` (Chinese) otherwise."""
    campaign = None
    if CODE_RE.fullmatch(code):
        campaign = await CampaignRepository(session).get_by_code(code)
    if campaign is None:
        raise CampaignPageNotFoundError()
    return campaign


async def campaign_page(
    session: AsyncSession, redis: Redis, *, code: str, openid: str, now: datetime
) -> CampaignPage:
    """The campaign as the fan sees it, with their own status. Counts no draw."""
    campaign = await get_campaign_for_page(session, code)
    prizes = await CampaignRepository(session).prizes(campaign.id)
    identity = await lottery.resolve_identity(session, openid, now=now)
    try:
        status = await _fan_status(session, redis, campaign, prizes, identity, now)
    except RedisError as exc:
        log.warning("campaigns.h5.redis_failed", extra={"error": type(exc).__name__})
        raise DrawUnavailableError() from exc
    return CampaignPage(
        code=campaign.code,
        name=campaign.name,
        window=texts.WINDOW.format(start=_when(campaign.starts_at), end=_when(campaign.ends_at)),
        rules=rules_of(campaign),
        prizes=[prize_line(p) for p in prizes],
        status=status,
    )


async def _fan_status(
    session: AsyncSession,
    redis: Redis,
    campaign: Campaign,
    prizes: list[CampaignPrize],
    identity: lottery.Identity,
    now: datetime,
) -> FanStatus:
    award = await AwardRepository(session).get_for_identifiers(campaign.id, identity.identifiers)
    if award is not None:
        return _won_status(campaign, prizes, award)
    refused = await lottery.screen_without_counting(session, campaign, identity, now)
    if refused is not None and refused.refusal is not None:
        return _refused_status(refused.refusal)
    if all(p.awarded >= p.inventory for p in prizes):
        return FanStatus(texts.STATUS_SOLD_OUT, texts.REFUSAL_MESSAGES["ended"], False, "warn")
    used = await abuse.draws_today(redis, campaign, person_id=identity.person_id, now=now)
    left = campaign.person_draws_per_day - used
    if left <= 0:
        return FanStatus(
            texts.STATUS_ELIGIBLE, texts.REFUSAL_MESSAGES["person_limit"], False, "warn"
        )
    detail = texts.STATUS_DRAWS_LEFT.format(n=left)
    last = await DecisionRepository(session).list_for_campaign(
        campaign.id, openid=identity.openid, limit=1, offset=0
    )
    if last and last[0].decision == c.DrawDecisionKind.LOST:
        detail = f"{texts.STATUS_LAST_LOST}{detail}"
    return FanStatus(texts.STATUS_ELIGIBLE, detail, True, "ok")


def _won_status(campaign: Campaign, prizes: list[CampaignPrize], award: PrizeAward) -> FanStatus:
    prize = next((p.name for p in prizes if p.id == award.prize_id), "")
    detail = texts.AWARD_STATUS[award.status].format(payout=payout_rule(campaign))
    return FanStatus(texts.STATUS_WON.format(prize=prize), detail, False, "won")


def _refused_status(refusal: c.Refusal) -> FanStatus:
    outcome = c.REFUSAL_OUTCOMES[refusal]
    message = texts.REFUSAL_MESSAGES[refusal.value]
    if outcome == Outcome.NOT_OPEN:
        return FanStatus(texts.STATUS_NOT_OPEN, message, False, "warn")
    if outcome == Outcome.NOT_ELIGIBLE:
        link = BIND_LINK if refusal == c.Refusal.NOT_BOUND else None
        return FanStatus(texts.STATUS_NOT_ELIGIBLE, message, False, "warn", link)
    return FanStatus(texts.OUTCOME_TITLES[outcome.value], message, False, "warn")


# -- a draw from the page ----------------------------------------------------------------------


async def draw_for_fan(draws: lottery.Lottery, *, code: str, openid: str) -> FanDrawRead:
    """One tap on 抽奖: the shared lottery service, one tap at a time per fan and campaign."""
    if not CODE_RE.fullmatch(code):
        raise CampaignPageNotFoundError()
    lock_key = f"lot:h5:{code}:{openid}"
    token = secrets.token_hex(8)
    try:
        if not await draws.redis.set(lock_key, token, nx=True, px=c.DRAW_LOCK_MS):
            log.info("campaigns.h5.draw_in_flight", extra={"openid": mask_openid(openid)})
            return _answer(Outcome.BUSY, texts.BUSY, can_draw=False)
        try:
            result = await draws.draw(code, openid)
        finally:
            await draws.redis.eval(RELEASE_LOCK, 1, lock_key, token)
        return await _read(draws, result, code=code, openid=openid)
    except CampaignNotFoundError:
        raise CampaignPageNotFoundError() from None
    except RedisError as exc:
        log.warning("campaigns.h5.redis_failed", extra={"error": type(exc).__name__})
        raise DrawUnavailableError() from exc


def _answer(
    outcome: c.DrawOutcome,
    message: str,
    *,
    can_draw: bool,
    prize: str | None = None,
    link: PageLink | None = None,
) -> FanDrawRead:
    title = texts.OUTCOME_TITLES[outcome.value]
    return FanDrawRead(
        outcome=outcome, title=title, message=message, prize=prize, can_draw=can_draw, link=link
    )


async def _read(
    draws: lottery.Lottery, result: lottery.DrawResult, *, code: str, openid: str
) -> FanDrawRead:
    decision = result.decision
    if decision == c.DrawDecisionKind.WON and result.status == c.AwardStatus.REVIEW:
        return _answer(Outcome.REVIEW, result.message, can_draw=False, prize=result.prize)
    if decision == c.DrawDecisionKind.WON:
        async with draws.sessionmaker() as session:
            campaign = await CampaignRepository(session).get_by_code(code)
        payout = payout_rule(campaign) if campaign is not None else texts.PAYOUT_SOON
        message = texts.WON_MESSAGE.format(prize=result.prize, payout=payout)
        return _answer(Outcome.WON, message, can_draw=False, prize=result.prize)
    if decision == c.DrawDecisionKind.LOST:
        left = await _draws_left(draws, code=code, openid=openid)
        more = texts.STATUS_DRAWS_LEFT.format(n=left) if left > 0 else ""
        return _answer(Outcome.LOST, f"{result.message}{more}", can_draw=left > 0)
    if decision in (c.DrawDecisionKind.SOLD_OUT, c.DrawDecisionKind.ALREADY_WON):
        return _answer(Outcome(decision.value), result.message, can_draw=False)
    refusal = result.refusal or c.Refusal.UNAVAILABLE
    outcome = c.REFUSAL_OUTCOMES[refusal]
    link = BIND_LINK if refusal == c.Refusal.NOT_BOUND else None
    retry = refusal in (c.Refusal.SCENE_LIMIT, c.Refusal.UNAVAILABLE)
    return _answer(outcome, result.message, can_draw=retry, link=link)


async def _draws_left(draws: lottery.Lottery, *, code: str, openid: str) -> int:
    async with draws.sessionmaker() as session:
        campaign = await CampaignRepository(session).get_by_code(code)
        person = await PersonRepository(session).get_by_openid(openid)
    if campaign is None or person is None:
        return 0
    now = draws.clock.now()
    used = await abuse.draws_today(draws.redis, campaign, person_id=person.id, now=now)
    return max(0, campaign.person_draws_per_day - used)
