"""Derived fan segments: the pure rules, incremental recompute from recorded batches, the
sweep, the ops API and the mirror to WeChat tags through the simulator."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.models import AccountBinding
from app.alerts.models import SegmentMember
from app.campaigns import constants as c
from app.campaigns import segments
from app.campaigns.models import FanSignal, SegmentChange
from app.content.constants import BOUND_CUSTOMER_TAG
from app.core.db import create_sessionmaker, unit_of_work
from app.wechat.client import WeChatClient
from tests.campaigns.conftest import T0, make_staff, record

S = c.Segment


def binding(openid: str, client_id: str = "C001", at: datetime = T0) -> AccountBinding:
    return AccountBinding(
        openid=openid,
        client_id=client_id,
        account_id=f"A-{client_id}",
        account_no_masked="****1001",
        account_type="cash",
        is_default=True,
        consent_version="v1",
        consented_at=at,
        bound_at=at,
    )


async def members(session: AsyncSession, segment: S) -> set[str]:
    stmt = select(SegmentMember.openid).where(SegmentMember.segment == segment.value)
    return set(await session.scalars(stmt))


def signal(**values: object) -> FanSignal:
    base: dict[str, object] = {
        "openid": "oFan",
        "is_subscribed": True,
        "risk_score": 0,
        "last_active_at": T0,
        "last_engaged_at": None,
    }
    base.update(values)
    return FanSignal(**base)


class TestSegmentsOf:
    def test_bound_customer_is_not_an_engaged_prospect(self) -> None:
        found = segments.segments_of(signal(last_engaged_at=T0), bound=True, staff=False, now=T0)
        assert found == {S.BOUND_CUSTOMERS}

    def test_unbound_fan_with_recent_menu_use_is_an_engaged_prospect(self) -> None:
        found = segments.segments_of(signal(last_engaged_at=T0), bound=False, staff=False, now=T0)
        assert found == {S.ENGAGED_PROSPECTS}

    def test_engagement_expires_after_the_window(self) -> None:
        later = T0 + timedelta(days=c.ENGAGED_DAYS, seconds=1)
        found = segments.segments_of(
            signal(last_engaged_at=T0), bound=False, staff=False, now=later
        )
        assert found == set()

    def test_high_abuse_score_makes_a_suspected_bonus_hunter_not_a_prospect(self) -> None:
        risky = signal(risk_score=c.BONUS_HUNTER_SCORE, last_engaged_at=T0)
        assert segments.segments_of(risky, bound=False, staff=False, now=T0) == {S.BONUS_HUNTERS}

    def test_silent_fans_become_dormant(self) -> None:
        later = T0 + timedelta(days=c.DORMANT_DAYS, seconds=1)
        found = segments.segments_of(signal(), bound=True, staff=True, now=later)
        assert found == {S.BOUND_CUSTOMERS, S.REGISTERED_STAFF, S.DORMANT_FANS}

    def test_unfollowed_fans_belong_to_no_segment(self) -> None:
        gone = signal(is_subscribed=False)
        assert segments.segments_of(gone, bound=True, staff=True, now=T0) == set()


class TestIncrementalRecompute:
    async def test_menu_click_makes_an_engaged_prospect_and_unfollow_removes_it(
        self, session: AsyncSession
    ) -> None:
        await segments.apply_inbound_records(
            session, [record("oFanA", "subscribe"), record("oFanA", "click", at=5)]
        )
        assert await members(session, S.ENGAGED_PROSPECTS) == {"oFanA"}
        await segments.apply_inbound_records(session, [record("oFanA", "unsubscribe", at=60)])
        assert await members(session, S.ENGAGED_PROSPECTS) == set()
        ops = (await session.scalars(select(SegmentChange.op).order_by(SegmentChange.id))).all()
        assert ops == ["add", "remove"]

    async def test_plain_follow_without_engagement_is_in_no_segment(
        self, session: AsyncSession
    ) -> None:
        await segments.apply_inbound_records(session, [record("oFanB", "subscribe")])
        sizes = await segments.segment_sizes(session)
        assert set(sizes.values()) == {0}
        stored = await session.get(FanSignal, "oFanB")
        assert stored is not None
        assert stored.is_subscribed

    async def test_a_bound_fan_joins_bound_customers_on_their_next_event(
        self, session: AsyncSession
    ) -> None:
        session.add(binding("oFanC"))
        await session.flush()
        await segments.apply_inbound_records(session, [record("oFanC", "view", at=1)])
        assert await members(session, S.BOUND_CUSTOMERS) == {"oFanC"}
        assert await members(session, S.ENGAGED_PROSPECTS) == set()

    async def test_a_follow_burst_from_one_scene_flags_bonus_hunters(
        self, session: AsyncSession
    ) -> None:
        burst = [
            record(f"oHunter{i:03d}", "subscribe", at=i, scene="farm")
            for i in range(c.BURST_FOLLOWS)
        ]
        await segments.apply_inbound_records(session, burst)
        hunters = await members(session, S.BONUS_HUNTERS)
        assert hunters == {f"oHunter{i:03d}" for i in range(c.BURST_FOLLOWS)}
        flagged = await session.get(FanSignal, "oHunter000")
        assert flagged is not None
        assert "scene farm" in flagged.risk_reason

    async def test_follows_spread_over_time_are_no_burst(self, session: AsyncSession) -> None:
        spread = [
            record(f"oSlow{i:03d}", "subscribe", at=i * c.BURST_WINDOW_S, scene="branch")
            for i in range(c.BURST_FOLLOWS)
        ]
        for one in spread:
            await segments.apply_inbound_records(session, [one])
        assert await members(session, S.BONUS_HUNTERS) == set()

    async def test_linking_a_staff_openid_puts_them_in_registered_staff(
        self, session: AsyncSession
    ) -> None:
        await make_staff(session, "S2001")
        await segments.apply_inbound_records(session, [record("oStaff1", "subscribe")])
        await segments.link_staff_openid(session, "S2001", openid="oStaff1", now=T0)
        assert await members(session, S.REGISTERED_STAFF) == {"oStaff1"}
        page = await segments.list_members(session, S.REGISTERED_STAFF.value, limit=10, offset=0)
        assert page.size == 1
        assert page.members_masked != ["oStaff1"]


class TestSweep:
    async def test_sweep_moves_silent_fans_to_dormant(
        self, engine: AsyncEngine, truncate_tables: None
    ) -> None:
        sessionmaker = create_sessionmaker(engine)
        async with unit_of_work(sessionmaker) as session:
            await segments.apply_inbound_records(
                session, [record("oOld", "subscribe"), record("oNew", "subscribe", at=1)]
            )
        later = T0 + timedelta(days=c.DORMANT_DAYS + 1)
        async with unit_of_work(sessionmaker) as session:
            await segments.apply_inbound_records(
                session, [record("oNew", "text", at=later.timestamp() - T0.timestamp())]
            )
        changed = await segments.sweep_segments(sessionmaker, now=later, page=1)
        assert changed == 1
        async with sessionmaker() as session:
            assert await members(session, S.DORMANT_FANS) == {"oOld"}
        assert await segments.sweep_segments(sessionmaker, now=later, page=1) == 0


class TestTagMirror:
    async def test_changes_reach_wechat_tags_and_bound_customers_use_the_menu_tag(
        self,
        engine: AsyncEngine,
        truncate_tables: None,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
    ) -> None:
        for openid in ("oTagA", "oTagB"):
            await wechat_sim_admin.post("/_admin/fans", json={"openid": openid, "subscribed": True})
        sessionmaker = create_sessionmaker(engine)
        async with unit_of_work(sessionmaker) as session:
            session.add(binding("oTagA"))
            await session.flush()
            await segments.apply_inbound_records(
                session, [record("oTagA", "click"), record("oTagB", "scan", scene="x")]
            )
        assert await segments.mirror_tags_once(sessionmaker, wechat, now=T0) == 2
        tags = {t["name"]: t["id"] for t in await wechat.get_tags()}
        fans = {
            f["openid"]: f["tagid_list"]
            for f in (await wechat_sim_admin.get("/_admin/fans")).json()
        }
        assert fans["oTagA"] == [tags[BOUND_CUSTOMER_TAG]]
        assert fans["oTagB"] == [tags[c.SEGMENT_TAGS[S.ENGAGED_PROSPECTS]]]
        async with unit_of_work(sessionmaker) as session:  # oTagB unfollows: untagged
            await segments.apply_inbound_records(session, [record("oTagB", "unsubscribe", at=9)])
        assert await segments.mirror_tags_once(sessionmaker, wechat, now=T0) == 1
        fans = {
            f["openid"]: f["tagid_list"]
            for f in (await wechat_sim_admin.get("/_admin/fans")).json()
        }
        assert fans["oTagB"] == []
        assert await segments.mirror_tags_once(sessionmaker, wechat, now=T0) == 0

    async def test_transient_wechat_errors_leave_changes_pending(
        self,
        engine: AsyncEngine,
        truncate_tables: None,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
    ) -> None:
        await wechat_sim_admin.post("/_admin/fans", json={"openid": "oTagC", "subscribed": True})
        sessionmaker: async_sessionmaker[AsyncSession] = create_sessionmaker(engine)
        async with unit_of_work(sessionmaker) as session:
            await segments.apply_inbound_records(session, [record("oTagC", "click")])
        fault = {"path": "*", "errcode": -1, "rate": 1.0}
        assert (await wechat_sim_admin.post("/_admin/faults", json=fault)).status_code == 200
        assert await segments.mirror_tags_once(sessionmaker, wechat, now=T0) == 0
        await wechat_sim_admin.delete("/_admin/faults")
        assert await segments.mirror_tags_once(sessionmaker, wechat, now=T0) == 1
        async with sessionmaker() as session:
            pending = select(func.count()).where(SegmentChange.mirrored_at.is_(None))
            assert await session.scalar(pending) == 0


class TestSegmentFeed:
    """The worker follows inbound_event from a cursor (off the API processes)."""

    async def test_recorded_events_reach_segments_once_and_young_ones_wait(
        self, engine: AsyncEngine, truncate_tables: None
    ) -> None:
        from app.webhook.repository import InboundEventRepository

        sessionmaker = create_sessionmaker(engine)
        old = record("oFeedA", "click", at=1)
        young = record("oFeedB", "click", at=2)
        young = dataclasses.replace(young, received_at=old.received_at + timedelta(seconds=30))
        async with unit_of_work(sessionmaker) as session:
            await InboundEventRepository(session).add_many([old, young])
        now = old.received_at + timedelta(seconds=10)  # `young` is inside the 5 s lag

        assert await segments.follow_inbound_events_once(sessionmaker, now=now) == 1
        assert await segments.follow_inbound_events_once(sessionmaker, now=now) == 0
        async with unit_of_work(sessionmaker) as session:
            assert await members(session, S.ENGAGED_PROSPECTS) == {"oFeedA"}

        later = young.received_at + timedelta(seconds=10)
        assert await segments.follow_inbound_events_once(sessionmaker, now=later) == 1
