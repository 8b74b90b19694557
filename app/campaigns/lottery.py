"""Lottery draws: atomic and fair under concurrency, one prize per person per campaign.

Redis holds the live inventory; one Lua script checks the person's identifiers against the
winners, picks a prize weighted by what is left (respecting daily limits) and decrements it
in one step. PostgreSQL holds the truth and guards it twice: `campaign_prize.awarded` cannot
pass the inventory, and `award_claim` (one row per identifier: openid, unionid, phone hash,
bound account, account reference) is unique per campaign, so the same person coming through
two openids cannot win twice even if Redis forgot. A failed database write gives the prize
back to Redis. The reconciliation job proves both agree and rebuilds Redis from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import service as accounts_service
from app.campaigns import abuse, texts
from app.campaigns import constants as c
from app.campaigns.campaigns import get_campaign_row
from app.campaigns.errors import AwardNotFoundError, AwardStateError
from app.campaigns.models import AwardClaim, Campaign, CampaignPrize, DrawDecision, PrizeAward
from app.campaigns.repository import (
    AwardRepository,
    CampaignRepository,
    ConversionLookup,
    DecisionRepository,
    FanSignalRepository,
    PersonRepository,
)
from app.core.db import unit_of_work
from app.core.time import BEIJING, Clock
from app.fans import service as fans_service

log = logging.getLogger(__name__)
D = c.DrawDecisionKind
# Draws in production use the OS's entropy (fair, unpredictable to players).
SYSTEM_RANDOM = random.SystemRandom()

DRAW_SCRIPT = """
if redis.call('EXISTS', KEYS[4]) == 0 then return {'unloaded', ''} end
for i = 3, #ARGV do
  if redis.call('SISMEMBER', KEYS[2], ARGV[i]) == 1 then return {'already', ARGV[i]} end
end
local limits = cjson.decode(ARGV[2])
local stock = redis.call('HGETALL', KEYS[1])
local ids, weights, total = {}, {}, 0
for i = 1, #stock, 2 do
  local pid, left = stock[i], tonumber(stock[i + 1])
  local cap = limits[pid]
  if left > 0 and (cap == nil or tonumber(redis.call('HGET', KEYS[3], pid) or '0') < cap) then
    ids[#ids + 1] = pid
    weights[#weights + 1] = left
    total = total + left
  end
end
if total == 0 then return {'empty', ''} end
local point = tonumber(ARGV[1]) * total
local chosen = ids[#ids]
for i = 1, #ids do
  point = point - weights[i]
  if point < 0 then chosen = ids[i] break end
end
redis.call('HINCRBY', KEYS[1], chosen, -1)
redis.call('HINCRBY', KEYS[3], chosen, 1)
redis.call('EXPIRE', KEYS[3], 172800)
for i = 3, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
return {'won', chosen}
"""

UNDO_SCRIPT = """
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[1], -1)
for i = 2, #ARGV do redis.call('SREM', KEYS[2], ARGV[i]) end
return 1
"""


# -- keys and identity ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Keys:
    stock: str
    won: str
    daily: str
    loaded: str
    lock: str

    @classmethod
    def of(cls, campaign_id: int, now: datetime) -> Keys:
        tag = f"lot:{{{campaign_id}}}"  # one hash slot per campaign (cluster-safe script)
        day = now.astimezone(BEIJING).strftime("%Y%m%d")
        return cls(
            f"{tag}:stock", f"{tag}:won", f"{tag}:daily:{day}", f"{tag}:loaded", f"{tag}:lock"
        )

    def script_keys(self) -> list[str]:
        return [self.stock, self.won, self.daily, self.loaded]


@dataclass(frozen=True, slots=True)
class Identity:
    """Everything that identifies the person behind an openid, for the one-prize rule."""

    openid: str
    person_id: int
    identifiers: tuple[tuple[str, str], ...]  # (kind, value)
    scene: str | None

    @property
    def member_keys(self) -> list[str]:
        return [f"{kind}:{value}" for kind, value in self.identifiers]


async def resolve_identity(session: AsyncSession, openid: str, *, now: datetime) -> Identity:
    """The person (from `person`), and their unionid, phone hash, account reference and the
    brokerage client of an active binding."""
    persons = PersonRepository(session)
    await persons.ensure_openids([openid], now=now)
    person = await persons.get_by_openid(openid)
    assert person is not None  # ensured just above
    found: dict[str, str] = {c.IdentityKind.OPENID.value: openid}
    fan = await fans_service.get_fan(session, openid)
    unionid = person.unionid or (fan.unionid if fan is not None else None)
    if unionid:
        found[c.IdentityKind.UNIONID.value] = unionid
    if person.phone_hash:
        found[c.IdentityKind.PHONE_HASH.value] = person.phone_hash
    if person.account_ref:
        found[c.IdentityKind.ACCOUNT_REF.value] = person.account_ref
    binding = await accounts_service.get_default_binding(session, openid)
    if binding is not None:
        found[c.IdentityKind.ACCOUNT.value] = binding.client_id
    signal = await FanSignalRepository(session).get(openid)
    scene = signal.follow_scene if signal is not None else None
    return Identity(openid, person.id, tuple(sorted(found.items())), scene)


# -- loading Redis from PostgreSQL ---------------------------------------------------------


async def load_inventory(
    session: AsyncSession,
    redis: Redis,
    campaign_id: int,
    *,
    now: datetime,
    force: bool = False,
) -> bool:
    """Rebuild the campaign's Redis state from PostgreSQL under a lock (first draw, or after
    Redis lost it). Returns False when another process holds the lock."""
    keys = Keys.of(campaign_id, now)
    token = f"{random.random()}"
    if not await redis.set(keys.lock, token, nx=True, px=c.LOAD_LOCK_MS):
        return False
    try:
        if not force and await redis.exists(keys.loaded):
            return True  # another draw loaded it while we waited for the lock
        prizes = await CampaignRepository(session).prizes(campaign_id)
        awards = AwardRepository(session)
        members = await awards.claim_keys(campaign_id)
        day_start = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
        today = await awards.counts_won_between(
            campaign_id, day_start, day_start + timedelta(days=1)
        )
        async with redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.stock, keys.won, keys.daily)
            pipe.hset(keys.stock, mapping={str(p.id): p.inventory - p.awarded for p in prizes})
            if members:
                pipe.sadd(keys.won, *members)
            if today:
                pipe.hset(keys.daily, mapping={str(k): v for k, v in today.items()})
                pipe.expire(keys.daily, c.DAILY_COUNTER_TTL_S)
            pipe.set(keys.loaded, now.isoformat())
            await pipe.execute()
        log.info(
            "campaigns.lottery.loaded", extra={"campaign_id": campaign_id, "winners": len(members)}
        )
        return True
    finally:
        if _text(await redis.get(keys.lock)) == token:  # only our own lock
            await redis.delete(keys.lock)


# -- the draw ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refused:
    """A draw stopped before the pick: the recorded `reason` and, for the fan's page, why
    (`refusal`; None when the draw simply lost on the win probability)."""

    decision: c.DrawDecisionKind
    reason: str
    refusal: c.Refusal | None = None


@dataclass(frozen=True, slots=True)
class DrawResult:
    decision: c.DrawDecisionKind
    reason: str
    prize: str | None = None
    award_id: int | None = None
    status: str | None = None
    refusal: c.Refusal | None = None

    @property
    def message(self) -> str:
        if self.decision == D.WON and self.status == c.AwardStatus.REVIEW:
            return texts.REVIEW_MESSAGE.format(prize=self.prize)
        if self.refusal is not None:
            return texts.REFUSAL_MESSAGES[self.refusal.value]
        return texts.DRAW_MESSAGES[self.decision.value].format(prize=self.prize)


@dataclass(frozen=True, slots=True)
class Lottery:
    """What a draw needs; tests pass a seeded `rng` and a FakeClock."""

    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    clock: Clock
    rng: random.Random

    async def draw(self, campaign_code: str, openid: str) -> DrawResult:
        """One fan's draw: screen, pick atomically in Redis, store the award. Every outcome
        becomes a `draw_decision` row with its reason."""
        now = self.clock.now()
        async with unit_of_work(self.sessionmaker) as session:
            campaign = await get_campaign_row(session, campaign_code)
            prizes = await CampaignRepository(session).prizes(campaign.id)
            if not await self.redis.exists(Keys.of(campaign.id, now).loaded):
                await load_inventory(session, self.redis, campaign.id, now=now)
            if await _sold_out(self.redis, campaign.id, now):  # cheap answer for the crowd
                reason = "no prize left (inventory or daily limits)"
                await _decide(session, campaign, openid, D.SOLD_OUT, reason, 0, now)
                return DrawResult(D.SOLD_OUT, reason)
            identity = await resolve_identity(session, openid, now=now)
            refused, risk = await _screen(session, self.redis, campaign, identity, now)
            if refused is None and Decimal(str(self.rng.random())) >= campaign.win_probability:
                refused = Refused(D.LOST, "not drawn (win probability)")
            if refused is not None:
                await _decide(
                    session, campaign, openid, refused.decision, refused.reason, risk.score, now
                )
                return DrawResult(refused.decision, refused.reason, refusal=refused.refusal)
        picked = await self._pick(campaign, prizes, identity, now)
        if isinstance(picked, DrawResult):
            async with unit_of_work(self.sessionmaker) as session:
                await _decide(
                    session, campaign, openid, picked.decision, picked.reason, risk.score, now
                )
            return picked
        return await self._store(campaign, picked, identity, risk, now)

    async def _pick(
        self, campaign: Campaign, prizes: list[CampaignPrize], identity: Identity, now: datetime
    ) -> CampaignPrize | DrawResult:
        keys = Keys.of(campaign.id, now)
        limits = json.dumps({str(p.id): p.daily_limit for p in prizes if p.daily_limit})
        args = [repr(self.rng.random()), limits, *identity.member_keys]
        for _ in range(100):  # a draw racing a Redis loss waits for one loader
            outcome, detail = await _run(self.redis, DRAW_SCRIPT, keys.script_keys(), args)
            if outcome != "unloaded":
                break
            async with unit_of_work(self.sessionmaker) as session:
                loaded = await load_inventory(session, self.redis, campaign.id, now=now)
            if not loaded:
                await asyncio.sleep(0.05)
        else:
            return DrawResult(
                D.REFUSED, "inventory unavailable (Redis not loaded)", refusal=c.Refusal.UNAVAILABLE
            )
        if outcome == "already":
            return DrawResult(
                D.ALREADY_WON, f"already won in this campaign ({detail.split(':')[0]})"
            )
        if outcome == "empty":
            return DrawResult(D.SOLD_OUT, "no prize left (inventory or daily limits)")
        return next(p for p in prizes if str(p.id) == detail)

    async def _store(
        self,
        campaign: Campaign,
        prize: CampaignPrize,
        identity: Identity,
        risk: abuse.Risk,
        now: datetime,
    ) -> DrawResult:
        status = (
            c.AwardStatus.REVIEW if risk.score >= c.RISK_REVIEW_SCORE else c.AwardStatus.DEFERRED
        )
        try:
            async with unit_of_work(self.sessionmaker) as session:
                award = await _award(session, campaign, prize, identity, status, risk, now)
        except _ClosedMeanwhile:
            await self._undo(campaign, prize, identity, now)
            refused = Refused(D.REFUSED, "campaign closed during the draw", c.Refusal.CLOSED)
            async with unit_of_work(self.sessionmaker) as session:
                await _decide(
                    session, campaign, identity.openid, refused.decision, refused.reason, 0, now
                )
            return DrawResult(refused.decision, refused.reason, refusal=refused.refusal)
        except (IntegrityError, _SoldOutInDatabase) as exc:
            await self._undo(campaign, prize, identity, now)
            sold_out = isinstance(exc, _SoldOutInDatabase)
            decision = D.SOLD_OUT if sold_out else D.ALREADY_WON
            reason = (
                "prize sold out in the database" if sold_out else "already won (database claim)"
            )
            log.warning("campaigns.lottery.db_refused", extra={"decision": decision.value})
            async with unit_of_work(self.sessionmaker) as session:
                await _decide(session, campaign, identity.openid, decision, reason, risk.score, now)
            return DrawResult(decision, reason)
        return DrawResult(
            D.WON, f"won {prize.code}; {risk.reason}", prize.name, award.id, status.value
        )

    async def _undo(
        self, campaign: Campaign, prize: CampaignPrize, identity: Identity, now: datetime
    ) -> None:
        keys = Keys.of(campaign.id, now)
        await _run(
            self.redis, UNDO_SCRIPT, keys.script_keys(), [str(prize.id), *identity.member_keys]
        )


class _ClosedMeanwhile(Exception):
    """Ops closed the campaign between this draw's screening and its award."""


class _SoldOutInDatabase(Exception):
    """Redis handed out a prize PostgreSQL no longer has (Redis rebuilt from a stale view)."""


async def _sold_out(redis: Redis, campaign_id: int, now: datetime) -> bool:
    """True when Redis holds the campaign and every prize is gone (daily limits aside)."""
    keys = Keys.of(campaign_id, now)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.exists(keys.loaded)
        pipe.hvals(keys.stock)
        loaded, left = await pipe.execute()
    return bool(loaded) and bool(left) and all(int(v) <= 0 for v in left)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def _run(redis: Redis, script: str, keys: list[str], args: list[str]) -> tuple[str, str]:
    result: Any = await redis.eval(script, len(keys), *keys, *args)
    values = [*result, ""] if isinstance(result, list) else [result, ""]
    return _text(values[0]), _text(values[1])


def window_refusal(campaign: Campaign, now: datetime) -> Refused | None:
    """Closed by ops, not started yet or over."""
    if not campaign.is_active:
        return Refused(D.REFUSED, "campaign closed", c.Refusal.CLOSED)
    if now < campaign.starts_at:
        return Refused(D.REFUSED, "outside the campaign window", c.Refusal.NOT_STARTED)
    if now >= campaign.ends_at:
        return Refused(D.REFUSED, "outside the campaign window", c.Refusal.ENDED)
    return None


async def _screen(
    session: AsyncSession, redis: Redis, campaign: Campaign, identity: Identity, now: datetime
) -> tuple[Refused | None, abuse.Risk]:
    """Window, blacklist, eligibility, velocity and risk: the first refusal, and the risk."""
    risk = abuse.Risk()
    refused = await screen_without_counting(session, campaign, identity, now)
    if refused is not None:
        return refused, risk
    too_fast = await abuse.check_velocity(
        redis, campaign, person_id=identity.person_id, scene=identity.scene, now=now
    )
    if too_fast is not None:
        return Refused(D.REFUSED, too_fast[1], too_fast[0]), risk
    signal = await FanSignalRepository(session).get(identity.openid)
    risk = await abuse.assess_risk(session, signal=signal, person_id=identity.person_id, now=now)
    if risk.score >= c.RISK_REFUSE_SCORE:
        return Refused(D.REFUSED, f"risk {risk.score}: {risk.reason}"[:160], c.Refusal.RISK), risk
    return None, risk


async def screen_without_counting(
    session: AsyncSession, campaign: Campaign, identity: Identity, now: datetime
) -> Refused | None:
    """The checks that change nothing (window, blacklist, eligibility): the draw runs them
    first, the fan's page shows their answer before any tap."""
    refused = window_refusal(campaign, now)
    if refused is not None:
        return refused
    listed = await abuse.blacklisted(session, identity.identifiers, identity.scene)
    if listed is not None:
        reason = f"blacklisted {listed.kind}: {listed.reason}"[:160]
        return Refused(D.REFUSED, reason, c.Refusal.BLACKLISTED)
    unmet = await _unmet_rule(session, campaign, identity)
    if unmet is not None:
        return Refused(D.REFUSED, f"not eligible: {unmet[1]}", unmet[0])
    return None


async def _unmet_rule(
    session: AsyncSession, campaign: Campaign, identity: Identity
) -> tuple[c.Refusal, str] | None:
    conversions = ConversionLookup(session)
    for rule in campaign.eligibility:
        if rule == c.Eligibility.BOUND_CUSTOMER:
            if c.IdentityKind.ACCOUNT.value not in dict(identity.identifiers):
                return c.Refusal.NOT_BOUND, "bound customers only"
        elif rule == c.Eligibility.ACCOUNT_OPENED_IN_WINDOW:
            opened = await conversions.first_at(identity.person_id, c.ConversionKind.ACCOUNT_OPENED)
            if opened is None or not campaign.starts_at <= opened < campaign.ends_at:
                return (
                    c.Refusal.NO_ACCOUNT_IN_WINDOW,
                    "account not opened inside the campaign window",
                )
        elif rule == c.Eligibility.FIRST_TRADE and (
            await conversions.first_at(identity.person_id, c.ConversionKind.FIRST_TRADE) is None
        ):
            return c.Refusal.NO_FIRST_TRADE, "no first trade yet"
    return None


async def _award(
    session: AsyncSession,
    campaign: Campaign,
    prize: CampaignPrize,
    identity: Identity,
    status: c.AwardStatus,
    risk: abuse.Risk,
    now: datetime,
) -> PrizeAward:
    campaigns = CampaignRepository(session)
    if not await campaigns.is_open_for_awards(campaign.id):
        raise _ClosedMeanwhile(campaign.code)
    if not await campaigns.take_prize(prize.id):
        raise _SoldOutInDatabase(prize.code)
    payable_at = None
    if status == c.AwardStatus.DEFERRED and campaign.payout_after is None:
        payable_at = now + timedelta(hours=campaign.payout_hold_hours)
    award = PrizeAward(
        campaign_id=campaign.id,
        prize_id=prize.id,
        person_id=identity.person_id,
        openid=identity.openid,
        status=status.value,
        risk_score=risk.score,
        won_at=now,
        payable_at=payable_at,
    )
    awards = AwardRepository(session)
    await awards.add(award)
    claims = [
        AwardClaim(campaign_id=campaign.id, kind=kind, value=value, award_id=award.id)
        for kind, value in identity.identifiers
    ]
    await awards.add_claims(claims)
    reason = f"won {prize.code} ({status.value}); {risk.reason}"
    await _decide(
        session, campaign, identity.openid, D.WON, reason, risk.score, now, prize.id, award.id
    )
    return award


async def _decide(
    session: AsyncSession,
    campaign: Campaign,
    openid: str,
    decision: c.DrawDecisionKind,
    reason: str,
    risk_score: int,
    now: datetime,
    prize_id: int | None = None,
    award_id: int | None = None,
) -> None:
    await DecisionRepository(session).add(
        DrawDecision(
            campaign_id=campaign.id,
            openid=openid,
            decision=decision.value,
            reason=reason[:160],
            risk_score=risk_score,
            prize_id=prize_id,
            award_id=award_id,
            decided_at=now,
        )
    )


# -- reconciliation ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PrizeCheck:
    prize: str
    inventory: int
    db_awarded: int  # the guard counter on campaign_prize
    db_awards: int  # prize_award rows
    redis_left: int | None

    @property
    def agrees(self) -> bool:
        left = self.inventory - self.db_awards
        return self.db_awarded == self.db_awards and self.redis_left == left


@dataclass(frozen=True, slots=True)
class Reconciliation:
    campaign: str
    prizes: list[PrizeCheck]
    db_claims: int
    redis_claims: int
    repaired: bool

    @property
    def agrees(self) -> bool:
        return all(p.agrees for p in self.prizes) and self.db_claims == self.redis_claims


async def reconcile(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    campaign_code: str,
    *,
    now: datetime,
    repair: bool,
) -> Reconciliation:
    """Compare PostgreSQL (the truth) with Redis; with `repair`, or when Redis lost the
    campaign, rebuild Redis from PostgreSQL and report the state after. Run it at rest: a
    draw between its Lua step and its commit shows as a one-prize difference."""
    report = await _compare(sessionmaker, redis, campaign_code, now=now)
    lost = report.redis_claims == 0 and all(p.redis_left is None for p in report.prizes)
    if (repair and not report.agrees) or (lost and not report.agrees):
        async with unit_of_work(sessionmaker) as session:
            campaign_id = (await get_campaign_row(session, campaign_code)).id
            await load_inventory(session, redis, campaign_id, now=now, force=True)
        after = await _compare(sessionmaker, redis, campaign_code, now=now)
        log.warning(
            "campaigns.lottery.repaired", extra={"campaign": campaign_code, "agrees": after.agrees}
        )
        return Reconciliation(
            after.campaign, after.prizes, after.db_claims, after.redis_claims, True
        )
    return report


async def _compare(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    campaign_code: str,
    *,
    now: datetime,
) -> Reconciliation:
    async with unit_of_work(sessionmaker) as session:
        campaign = await get_campaign_row(session, campaign_code)
        prizes = await CampaignRepository(session).prizes(campaign.id)
        awards = AwardRepository(session)
        counts = await awards.counts_by_prize(campaign.id)
        claims = await awards.claim_keys(campaign.id)
    keys = Keys.of(campaign.id, now)
    raw: dict[Any, Any] = await redis.hgetall(keys.stock)
    stock = {_text(k): int(v) for k, v in raw.items()}
    redis_claims = int(await redis.scard(keys.won))
    checks = [
        PrizeCheck(p.code, p.inventory, p.awarded, counts.get(p.id, 0), stock.get(str(p.id)))
        for p in prizes
    ]
    return Reconciliation(campaign.code, checks, len(claims), redis_claims, False)


async def reconcile_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    redis: Redis,
    clock: Clock,
    stop_event: asyncio.Event,
    interval_s: float = c.RECONCILE_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process): check every active campaign; rebuild Redis only when
    it lost a campaign (a mismatch at rest is logged for an operator's repair)."""
    while not stop_event.is_set():
        async with unit_of_work(sessionmaker) as session:
            codes = [row.code for row in await CampaignRepository(session).list_active()]
        for code in codes:
            report = await reconcile(sessionmaker, redis, code, now=clock.now(), repair=False)
            if not report.agrees:
                log.error("campaigns.lottery.mismatch", extra={"campaign": code})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


# -- deferred payout -----------------------------------------------------------------------


async def release_payouts(session: AsyncSession, *, now: datetime) -> int:
    """Deferred awards become payable once the qualifying action is confirmed (a conversion
    posted back by the brokerage) and the hold period passed. Returns how many. A closed
    campaign's wins are still paid: closing stops draws, not the prizes already won."""
    repo = CampaignRepository(session)
    lookup = ConversionLookup(session)
    released = 0
    for campaign in await repo.list_with_awards(c.AwardStatus.DEFERRED.value):
        for award in await AwardRepository(session).list_for_campaign(
            campaign.id, status=c.AwardStatus.DEFERRED.value
        ):
            confirmed_at, why = award.won_at, "hold period over"
            if campaign.payout_after is not None:
                at = await lookup.first_at(award.person_id, campaign.payout_after)
                if at is None:
                    continue
                confirmed_at, why = at, f"{campaign.payout_after} confirmed"
            if confirmed_at + timedelta(hours=campaign.payout_hold_hours) > now:
                continue
            award.status, award.payable_at = c.AwardStatus.PAYABLE.value, now
            await _decide(
                session,
                campaign,
                award.openid,
                D.PAYOUT_RELEASED,
                why,
                award.risk_score,
                now,
                award.prize_id,
                award.id,
            )
            released += 1
    await session.flush()
    return released


async def release_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    stop_event: asyncio.Event,
    interval_s: float = c.RELEASE_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process)."""
    while not stop_event.is_set():
        async with unit_of_work(sessionmaker) as session:
            await release_payouts(session, now=clock.now())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


async def review_award(
    session: AsyncSession, award_id: int, *, approve: bool, reason: str, actor: str, now: datetime
) -> PrizeAward:
    """An operator's decision on a risky win: approved goes on to deferred payout; voided
    keeps the prize consumed and the person's claim (no second try)."""
    award = await AwardRepository(session).get(award_id)
    if award is None:
        raise AwardNotFoundError(f"no award {award_id}")
    if award.status != c.AwardStatus.REVIEW:
        raise AwardStateError(f"award {award_id} is {award.status}, not under review")
    campaign = await CampaignRepository(session).get(award.campaign_id)
    assert campaign is not None  # foreign key
    award.status = (c.AwardStatus.DEFERRED if approve else c.AwardStatus.VOID).value
    decision = D.REVIEW_APPROVED if approve else D.REVIEW_VOIDED
    await _decide(
        session,
        campaign,
        award.openid,
        decision,
        f"{actor}: {reason}",
        award.risk_score,
        now,
        award.prize_id,
        award.id,
    )
    return award


async def mark_paid(session: AsyncSession, award_id: int, *, now: datetime) -> PrizeAward:
    award = await AwardRepository(session).get(award_id)
    if award is None:
        raise AwardNotFoundError(f"no award {award_id}")
    if award.status != c.AwardStatus.PAYABLE:
        raise AwardStateError(f"award {award_id} is {award.status}, not payable")
    award.status, award.paid_at = c.AwardStatus.PAID.value, now
    await session.flush()
    return award


async def list_decisions(
    session: AsyncSession, campaign_code: str, *, openid: str | None, limit: int, offset: int
) -> list[DrawDecision]:
    campaign = await get_campaign_row(session, campaign_code)
    return await DecisionRepository(session).list_for_campaign(
        campaign.id, openid=openid, limit=limit, offset=offset
    )


async def list_awards(
    session: AsyncSession, campaign_code: str, *, status: str | None
) -> list[PrizeAward]:
    campaign = await get_campaign_row(session, campaign_code)
    return await AwardRepository(session).list_for_campaign(campaign.id, status=status)
