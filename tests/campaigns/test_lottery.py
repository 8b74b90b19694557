"""Draws: exactly N winners under concurrency, one prize per person across openids, the
database guard, reconciliation after Redis loss, daily limits and deferred payout."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns import campaigns
from app.campaigns import constants as c
from app.campaigns import lottery as lottery_module
from app.campaigns.lottery import Keys, Lottery
from app.campaigns.models import AwardClaim, CampaignPrize, PrizeAward
from app.core.db import unit_of_work
from app.core.time import FakeClock
from tests.campaigns import lottery_support as support
from tests.campaigns.lottery_support import START, award_count, bind, convert, create, decisions

sessionmaker = support.sessionmaker
lottery = support.lottery
lottery_clock = support.lottery_clock

D = c.DrawDecisionKind


async def awards(sm: async_sessionmaker[AsyncSession]) -> list[PrizeAward]:
    async with sm() as session:
        return list(await session.scalars(select(PrizeAward).order_by(PrizeAward.id)))


class TestConcurrentDraws:
    async def test_1000_concurrent_draws_for_10_prizes_yield_exactly_10_distinct_winners(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery, redis: Redis
    ) -> None:
        await create(sessionmaker)
        # Two openids of one person (same brokerage client) draw first and often.
        await bind(sessionmaker, "oTwinA0001", "C-TWIN")
        await bind(sessionmaker, "oTwinB0001", "C-TWIN")
        openids = ["oTwinA0001", "oTwinB0001"] * 2 + [f"oFan{i:05d}" for i in range(996)]
        results = await asyncio.gather(*(lottery.draw("spring", o) for o in openids))
        won = [r for r in results if r.decision == D.WON]
        assert len(won) == 10
        rows = await awards(sessionmaker)
        assert len(rows) == 10
        assert len({a.person_id for a in rows}) == 10
        assert len({a.openid for a in rows}) == 10
        assert sum(a.openid.startswith("oTwin") for a in rows) <= 1
        assert {r.decision for r in results} <= {D.WON, D.SOLD_OUT, D.ALREADY_WON}
        assert len(await decisions(sessionmaker)) == 1000
        report = await lottery_module.reconcile(
            sessionmaker, redis, "spring", now=lottery.clock.now(), repair=False
        )
        assert report.agrees
        assert report.prizes[0].redis_left == 0

    async def test_one_person_through_two_openids_wins_once_under_concurrency(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker, person_draws_per_day=100)
        await bind(sessionmaker, "oSameA0001", "C-SAME")
        await bind(sessionmaker, "oSameB0001", "C-SAME")
        results = await asyncio.gather(
            *(lottery.draw("spring", o) for o in ["oSameA0001", "oSameB0001"] * 20)
        )
        assert [r.decision for r in results].count(D.WON) == 1
        assert await award_count(sessionmaker) == 1


class TestOnePrizePerPerson:
    async def test_second_openid_of_a_winner_is_told_already_won(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker)
        await bind(sessionmaker, "oOneA00001", "C-ONE")
        await bind(sessionmaker, "oOneB00001", "C-ONE")
        first = await lottery.draw("spring", "oOneA00001")
        second = await lottery.draw("spring", "oOneB00001")
        assert (first.decision, second.decision) == (D.WON, D.ALREADY_WON)
        assert "account" in second.reason
        assert second.message.startswith("您已在本次活动中获奖")

    async def test_database_claim_refuses_a_winner_redis_forgot_and_returns_the_prize(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery, redis: Redis
    ) -> None:
        await create(sessionmaker)
        await bind(sessionmaker, "oDbA000001", "C-DB")
        await bind(sessionmaker, "oDbB000001", "C-DB")
        assert (await lottery.draw("spring", "oDbA000001")).decision == D.WON
        async with sessionmaker() as session:
            campaign_id = (await session.scalars(select(CampaignPrize.campaign_id))).one()
        keys = Keys.of(campaign_id, lottery.clock.now())
        await redis.delete(keys.won)  # Redis forgets the winners, keeps the stock
        result = await lottery.draw("spring", "oDbB000001")
        assert result.decision == D.ALREADY_WON
        assert result.reason == "already won (database claim)"
        assert int(await redis.hget(keys.stock, "1") or 0) == 9  # the prize went back
        assert await award_count(sessionmaker) == 1


class TestReconciliation:
    async def test_redis_flushdb_is_repaired_from_the_database_and_draws_go_on(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery, redis: Redis
    ) -> None:
        await create(sessionmaker)
        for i in range(4):
            assert (await lottery.draw("spring", f"oWin{i:06d}")).decision == D.WON
        await redis.flushdb()
        now = lottery.clock.now()
        report = await lottery_module.reconcile(
            sessionmaker, redis, "spring", now=now, repair=False
        )
        assert report.repaired
        assert report.agrees
        assert (report.prizes[0].redis_left, report.db_claims, report.redis_claims) == (6, 4, 4)
        assert (await lottery.draw("spring", "oWin000000")).decision == D.ALREADY_WON
        results = [await lottery.draw("spring", f"oLate{i:05d}") for i in range(10)]
        assert [r.decision for r in results].count(D.WON) == 6
        assert await award_count(sessionmaker) == 10

    async def test_draws_right_after_flushdb_reload_by_themselves(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery, redis: Redis
    ) -> None:
        await create(sessionmaker)
        assert (await lottery.draw("spring", "oFirst0001")).decision == D.WON
        await redis.flushdb()
        results = await asyncio.gather(
            *(lottery.draw("spring", f"oAfter{i:04d}") for i in range(30))
        )
        assert [r.decision for r in results].count(D.WON) == 9
        assert await award_count(sessionmaker) == 10

    async def test_a_mismatch_is_reported_then_repaired_on_request(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery, redis: Redis
    ) -> None:
        await create(sessionmaker)
        await lottery.draw("spring", "oMis000001")
        async with sessionmaker() as session:
            prize = (await session.scalars(select(CampaignPrize))).one()
        keys = Keys.of(prize.campaign_id, lottery.clock.now())
        await redis.hincrby(keys.stock, str(prize.id), 3)  # Redis thinks 12 were there
        now = lottery.clock.now()
        seen = await lottery_module.reconcile(sessionmaker, redis, "spring", now=now, repair=False)
        assert not seen.agrees
        assert not seen.repaired
        fixed = await lottery_module.reconcile(sessionmaker, redis, "spring", now=now, repair=True)
        assert fixed.repaired
        assert fixed.agrees
        assert fixed.prizes[0].redis_left == 9


class TestLimitsAndOdds:
    async def test_daily_limit_caps_a_prize_per_beijing_day(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        prizes = [
            {"code": "cup", "name": "马克杯", "value": "30", "inventory": 10, "daily_limit": 2}
        ]
        await create(sessionmaker, prizes=prizes)
        today = [await lottery.draw("spring", f"oDay{i:06d}") for i in range(4)]
        assert [r.decision for r in today] == [D.WON, D.WON, D.SOLD_OUT, D.SOLD_OUT]
        clock = lottery.clock
        assert isinstance(clock, FakeClock)
        clock.advance(86_400)
        assert (await lottery.draw("spring", "oDay000003")).decision == D.WON

    async def test_win_probability_zero_never_draws_a_prize(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker, win_probability="0")
        result = await lottery.draw("spring", "oLoser0001")
        assert result.decision == D.LOST
        assert result.message.startswith("很遗憾")
        assert await award_count(sessionmaker) == 0

    async def test_prizes_are_drawn_in_proportion_to_what_is_left(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, lottery_clock: FakeClock
    ) -> None:
        prizes = [
            {"code": "big", "name": "大奖", "value": "1000", "inventory": 1},
            {"code": "small", "name": "小奖", "value": "5", "inventory": 99},
        ]
        await create(sessionmaker, prizes=prizes)
        seeded = Lottery(sessionmaker, redis, lottery_clock, random.Random(3))
        results = [await seeded.draw("spring", f"oProp{i:05d}") for i in range(20)]
        names = [r.prize for r in results]
        assert names.count("小奖") >= 18
        assert all(r.decision == D.WON for r in results)


class TestDeferredPayout:
    async def test_award_becomes_payable_only_after_the_first_trade_is_confirmed(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker, payout_after="first_trade", payout_hold_hours=24)
        won = await lottery.draw("spring", "oPay000001")
        assert won.decision == D.WON
        now = lottery.clock.now()
        async with unit_of_work(sessionmaker) as session:
            assert await lottery_module.release_payouts(session, now=now) == 0
        await convert(sessionmaker, "oPay000001", "first_trade", now)
        async with unit_of_work(sessionmaker) as session:
            assert await lottery_module.release_payouts(session, now=now) == 0  # hold period
        later = now + timedelta(hours=25)
        async with unit_of_work(sessionmaker) as session:
            assert await lottery_module.release_payouts(session, now=later) == 1
        [award] = await awards(sessionmaker)
        assert award.status == c.AwardStatus.PAYABLE
        assert (await decisions(sessionmaker))[-1].reason == "first_trade confirmed"
        async with unit_of_work(sessionmaker) as session:
            paid = await lottery_module.mark_paid(session, award.id, now=later)
        assert paid.status == c.AwardStatus.PAID

    async def test_claims_cover_every_identifier_of_the_winner(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker)
        await bind(sessionmaker, "oClaim0001", "C-CLAIM")
        await lottery.draw("spring", "oClaim0001")
        async with sessionmaker() as session:
            kinds = set(await session.scalars(select(AwardClaim.kind)))
        assert kinds == {"openid", "account"}
        assert lottery.clock.now() > START


class RecordedTrail:
    """`core.audit.AuditTrail` that keeps the entries in memory."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, object]] = []

    async def record(
        self, action: str, *, target_type: str, target_id: object = None, **_: object
    ) -> None:
        self.entries.append((action, target_id))


async def close(sm: async_sessionmaker[AsyncSession], trail: RecordedTrail | None = None) -> None:
    async with unit_of_work(sm) as session:
        await campaigns.close_campaign(
            session, "spring", reason="t", audit=trail or RecordedTrail()
        )


class TestClosing:
    async def test_a_closed_campaign_still_pays_the_prizes_already_won(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery: Lottery
    ) -> None:
        await create(sessionmaker, payout_after="first_trade", payout_hold_hours=0)
        assert (await lottery.draw("spring", "oShut00001")).decision == D.WON
        trail = RecordedTrail()
        await close(sessionmaker, trail)
        await close(sessionmaker, trail)
        assert trail.entries == [("campaign.close", "spring")]  # the second close changed nothing
        after = await lottery.draw("spring", "oShut00002")
        assert (after.decision, after.refusal) == (D.REFUSED, c.Refusal.CLOSED)
        await convert(sessionmaker, "oShut00001", "first_trade", lottery.clock.now())
        async with unit_of_work(sessionmaker) as session:
            assert await lottery_module.release_payouts(session, now=lottery.clock.now()) == 1
        [award] = await awards(sessionmaker)
        assert award.status == c.AwardStatus.PAYABLE

    async def test_a_close_between_screening_and_award_refuses_and_returns_the_prize(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        lottery: Lottery,
        redis: Redis,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        await create(sessionmaker)
        picked_before_close = Lottery._pick

        async def pick_then_close(self: Lottery, *args: Any) -> Any:
            picked = await picked_before_close(self, *args)
            await close(sessionmaker)  # ops close the campaign while this draw is in flight
            return picked

        monkeypatch.setattr(Lottery, "_pick", pick_then_close)
        result = await lottery.draw("spring", "oRace00001")
        assert (result.decision, result.refusal) == (D.REFUSED, c.Refusal.CLOSED)
        assert await award_count(sessionmaker) == 0
        report = await lottery_module.reconcile(
            sessionmaker, redis, "spring", now=lottery.clock.now(), repair=False
        )
        assert report.agrees  # the prize went back to Redis' stock
        assert report.prizes[0].redis_left == report.prizes[0].inventory
        assert (await decisions(sessionmaker))[-1].reason == "campaign closed during the draw"
