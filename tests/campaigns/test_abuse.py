"""Refused campaign configs and the abuse rules: blacklist, velocity, risk score, review."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.campaigns import abuse, campaigns, lottery, segments
from app.campaigns import constants as c
from app.campaigns.errors import CampaignRefusedError, InvalidChannelError
from app.campaigns.lottery import Lottery
from app.core.db import unit_of_work
from tests.campaigns import lottery_support as support
from tests.campaigns.conftest import record
from tests.campaigns.lottery_support import bind, campaign_body, convert, create, decisions

sessionmaker = support.sessionmaker
lottery_ = support.lottery
lottery_clock = support.lottery_clock
D = c.DrawDecisionKind
PRIZE = {"code": "cash", "name": "红包", "value": "88", "inventory": 5}


class TestRefusedConfigs:
    @pytest.mark.parametrize("rule", ["followed", "must_follow_account", "share_to_moments"])
    def test_eligibility_on_following_or_sharing_is_refused(self, rule: str) -> None:
        with pytest.raises(CampaignRefusedError, match="following or sharing"):
            campaigns.validate_campaign(campaign_body(eligibility=[rule]))

    def test_a_prize_for_sharing_is_refused(self) -> None:
        prize = {**PRIZE, "condition": "share"}
        with pytest.raises(CampaignRefusedError, match="following or sharing"):
            campaigns.validate_campaign(campaign_body(prizes=[prize]))

    def test_top_prize_above_50000_is_refused_and_50000_is_fine(self) -> None:
        over = {**PRIZE, "value": "50000.01"}
        with pytest.raises(CampaignRefusedError, match="50000"):
            campaigns.validate_campaign(campaign_body(prizes=[over]))
        campaigns.validate_campaign(campaign_body(prizes=[{**PRIZE, "value": "50000.00"}]))

    def test_unknown_rules_and_empty_windows_are_invalid(self) -> None:
        with pytest.raises(InvalidChannelError):
            campaigns.validate_campaign(campaign_body(eligibility=["vip"]))
        body = campaign_body()
        with pytest.raises(InvalidChannelError):
            campaigns.validate_campaign(body.model_copy(update={"ends_at": body.starts_at}))


class TestBlacklistAndVelocity:
    async def test_blacklisted_account_and_scene_are_refused_with_reason(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker)
        await bind(sessionmaker, "oBlack0001", "C-BAD")
        async with unit_of_work(sessionmaker) as session:
            await abuse.add_to_blacklist(
                session,
                kind=c.BlacklistKind.ACCOUNT,
                value="C-BAD",
                reason="bonus hunter",
                actor="t",
                now=lottery_.clock.now(),
            )
            await abuse.add_to_blacklist(
                session,
                kind=c.BlacklistKind.SCENE,
                value="farm",
                reason="farmed QR",
                actor="t",
                now=lottery_.clock.now(),
            )
            await segments.apply_inbound_records(
                session, [record("oScene0001", "subscribe", scene="farm")]
            )
        first = await lottery_.draw("spring", "oBlack0001")
        second = await lottery_.draw("spring", "oScene0001")
        assert first.decision == second.decision == D.REFUSED
        assert first.reason == "blacklisted account: bonus hunter"
        assert second.reason == "blacklisted scene: farmed QR"

    async def test_per_person_velocity_limit(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker, win_probability="0", person_draws_per_day=2)
        results = [await lottery_.draw("spring", "oFast00001") for _ in range(3)]
        assert [r.decision for r in results] == [D.LOST, D.LOST, D.REFUSED]
        assert "per person per day" in results[-1].reason

    async def test_per_scene_velocity_limit(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker, win_probability="0", scene_draws_per_hour=2)
        async with unit_of_work(sessionmaker) as session:
            await segments.apply_inbound_records(
                session,
                [
                    record(f"oScn{i:06d}", "subscribe", at=-86_400 * 3, scene="stall")
                    for i in range(3)
                ],
            )
        results = [await lottery_.draw("spring", f"oScn{i:06d}") for i in range(3)]
        assert [r.decision for r in results] == [D.LOST, D.LOST, D.REFUSED]
        assert "scene stall" in results[-1].reason


class TestRisk:
    async def test_burst_follower_who_opened_an_account_minutes_ago_is_refused(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker)
        now = lottery_.clock.now()
        burst = [
            record(
                f"oBurst{i:04d}",
                "subscribe",
                at=(now - support.START).total_seconds() - 600 + i,
                scene="promo",
            )
            for i in range(c.BURST_FOLLOWS)
        ]
        async with unit_of_work(sessionmaker) as session:
            await segments.apply_inbound_records(session, burst)
        await convert(sessionmaker, "oBurst0000", "account_opened", now - timedelta(minutes=5))
        result = await lottery_.draw("spring", "oBurst0000")
        assert result.decision == D.REFUSED
        assert result.reason.startswith("risk 100")
        assert "account opened 300s before drawing" in result.reason

    async def test_fresh_account_alone_wins_but_is_held_for_review(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker)
        now = lottery_.clock.now()
        await convert(sessionmaker, "oFresh0001", "account_opened", now - timedelta(minutes=10))
        result = await lottery_.draw("spring", "oFresh0001")
        assert (result.decision, result.status) == (D.WON, c.AwardStatus.REVIEW)
        assert result.message.endswith("审核通过后发放。")
        async with unit_of_work(sessionmaker) as session:
            award = await lottery.review_award(
                session, result.award_id or 0, approve=False, reason="hunter", actor="ops1", now=now
            )
        assert award.status == c.AwardStatus.VOID
        assert (await decisions(sessionmaker))[-1].reason == "ops1: hunter"
        assert (await lottery_.draw("spring", "oFresh0001")).decision == D.ALREADY_WON

    async def test_eligibility_rules_are_checked_with_reasons(
        self, sessionmaker: async_sessionmaker[AsyncSession], lottery_: Lottery
    ) -> None:
        await create(sessionmaker, eligibility=["bound_customer", "account_opened_in_window"])
        first = await lottery_.draw("spring", "oElig00001")
        await bind(sessionmaker, "oElig00001", "C-ELIG")
        second = await lottery_.draw("spring", "oElig00001")
        await convert(
            sessionmaker, "oElig00001", "account_opened", support.START + timedelta(hours=1)
        )
        third = await lottery_.draw("spring", "oElig00001")
        assert first.reason == "not eligible: bound customers only"
        assert second.reason == "not eligible: account not opened inside the campaign window"
        assert third.decision == D.WON
        assert Decimal(1) == (await _campaign(sessionmaker)).win_probability


async def _campaign(sm: async_sessionmaker[AsyncSession]) -> campaigns.CampaignRead:
    async with sm() as session:
        return await campaigns.get_campaign(session, "spring")
