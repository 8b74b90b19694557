"""SQL of the campaigns feature (portable: PostgreSQL and SQLite)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from app.campaigns.constants import Attribution, ConversionKind
from app.campaigns.models import (
    AwardClaim,
    Campaign,
    CampaignPrize,
    Channel,
    ChannelTouch,
    ConversionEvent,
    DrawBlacklist,
    DrawDecision,
    FanSignal,
    Person,
    PrizeAward,
    SegmentChange,
    SegmentFeedCursor,
    StaffMember,
    TrackedLink,
)
from app.core.db import insert_ignoring_conflicts
from app.core.repository import Repository


class StaffRepository(Repository[StaffMember]):
    async def get_by_staff_no(self, staff_no: str) -> StaffMember | None:
        return await self.session.scalar(
            select(StaffMember).where(StaffMember.staff_no == staff_no)
        )

    async def list_by_ids(self, ids: Iterable[int]) -> dict[int, StaffMember]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(StaffMember).where(StaffMember.id.in_(wanted)))
        return {row.id: row for row in rows}

    async def list_all(self, *, limit: int, offset: int) -> list[StaffMember]:
        stmt = select(StaffMember).order_by(StaffMember.staff_no).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))


class ChannelRepository(Repository[Channel]):
    async def get(self, channel_id: int) -> Channel | None:
        return await self.session.get(Channel, channel_id)

    async def get_by_code(self, code: str) -> Channel | None:
        return await self.session.scalar(select(Channel).where(Channel.code == code))

    async def by_scenes(self, scenes: Iterable[str]) -> dict[str, Channel]:
        wanted = set(scenes)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Channel).where(Channel.scene_str.in_(wanted)))
        return {row.scene_str: row for row in rows if row.scene_str is not None}

    async def by_ids(self, ids: Iterable[int]) -> dict[int, Channel]:
        wanted = set(ids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Channel).where(Channel.id.in_(wanted)))
        return {row.id: row for row in rows}

    async def list_all(self, *, limit: int, offset: int) -> list[Channel]:
        stmt = select(Channel).order_by(Channel.id).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))

    async def deactivate_for_staff(self, staff_member_id: int) -> None:
        stmt = (
            update(Channel)
            .where(Channel.staff_member_id == staff_member_id)
            .values(is_active=False)
        )
        await self.session.execute(stmt)


class TouchRepository(Repository[ChannelTouch]):
    async def add_many(self, touches: Sequence[ChannelTouch]) -> None:
        self.session.add_all(touches)
        await self.session.flush()

    async def list_for_staff(self, staff_member_id: int, *, limit: int) -> list[ChannelTouch]:
        stmt = (
            select(ChannelTouch)
            .where(ChannelTouch.staff_member_id == staff_member_id)
            .order_by(ChannelTouch.occurred_at.desc(), ChannelTouch.id.desc())
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def list_for_openid(self, openid: str, *, limit: int) -> list[ChannelTouch]:
        stmt = (
            select(ChannelTouch)
            .where(ChannelTouch.openid == openid)
            .order_by(ChannelTouch.occurred_at, ChannelTouch.id)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))


class LinkRepository(Repository[TrackedLink]):
    async def get_by_code(self, code: str) -> TrackedLink | None:
        return await self.session.scalar(select(TrackedLink).where(TrackedLink.code == code))

    async def list_all(self, *, limit: int, offset: int) -> list[TrackedLink]:
        stmt = select(TrackedLink).order_by(TrackedLink.id).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))


class PersonRepository(Repository[Person]):
    async def get(self, person_id: int) -> Person | None:
        return await self.session.get(Person, person_id)

    async def get_by_openid(self, openid: str) -> Person | None:
        return await self.session.scalar(select(Person).where(Person.openid == openid))

    async def ensure_openids(self, openids: Iterable[str], *, now: datetime) -> None:
        """A person row for every openid (concurrent batches may race: conflicts are fine)."""
        rows = [{"openid": o, "created_at": now} for o in sorted(set(openids))]
        if rows:
            dialect = self.session.get_bind().dialect.name
            stmt = insert_ignoring_conflicts(dialect, Person.__table__, ["openid"])
            await self.session.execute(stmt, rows)

    async def by_openids(self, openids: Iterable[str]) -> dict[str, Person]:
        wanted = set(openids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Person).where(Person.openid.in_(wanted)))
        return {row.openid: row for row in rows if row.openid is not None}

    async def matching(self, identifiers: dict[str, str]) -> list[Person]:
        """Persons sharing any identifier (`openid`, `unionid`, `phone_hash`, `account_ref`)."""
        conditions = [getattr(Person, name) == value for name, value in identifiers.items()]
        if not conditions:
            return []
        stmt = select(Person).where(or_(*conditions)).order_by(Person.id)
        return list(await self.session.scalars(stmt))

    async def merge_into(self, survivor_id: int, merged_id: int) -> None:
        """Move the merged person's events to the survivor, then delete it."""
        await self.session.execute(
            update(ConversionEvent)
            .where(ConversionEvent.person_id == merged_id)
            .values(person_id=survivor_id)
        )
        await self.session.execute(delete(Person).where(Person.id == merged_id))


class ConversionRepository(Repository[ConversionEvent]):
    async def insert_ignoring_duplicates(self, rows: list[dict[str, Any]]) -> int:
        """Insert events; an `event_id` seen before is skipped. Returns how many were new."""
        if not rows:
            return 0
        dialect = self.session.get_bind().dialect.name
        table = ConversionEvent.__table__
        stmt = insert_ignoring_conflicts(dialect, table, ["event_id"]).returning(table.c.id)
        inserted = 0
        for row in rows:  # RETURNING per row: executemany does not return rows everywhere
            inserted += len((await self.session.execute(stmt, row)).all())
        return inserted

    async def existing_event_ids(self, event_ids: Iterable[str]) -> set[str]:
        wanted = set(event_ids)
        if not wanted:
            return set()
        stmt = select(ConversionEvent.event_id).where(ConversionEvent.event_id.in_(wanted))
        return set(await self.session.scalars(stmt))

    async def move_earlier(self, event_id: str, occurred_at: datetime) -> None:
        """A follow batch arriving late may carry an earlier first follow."""
        stmt = (
            update(ConversionEvent)
            .where(ConversionEvent.event_id == event_id, ConversionEvent.occurred_at > occurred_at)
            .values(occurred_at=occurred_at)
        )
        await self.session.execute(stmt)

    async def list_for_person(self, person_id: int) -> list[ConversionEvent]:
        stmt = (
            select(ConversionEvent)
            .where(ConversionEvent.person_id == person_id)
            .order_by(ConversionEvent.occurred_at, ConversionEvent.id)
        )
        return list(await self.session.scalars(stmt))


def _first_at(kind: ConversionKind) -> ColumnElement[Any]:
    return func.min(case((ConversionEvent.kind == kind.value, ConversionEvent.occurred_at)))


def _path(source: Any, target: Any, start: datetime, end: datetime) -> ColumnElement[Any]:
    """Persons who were `source` before becoming `target` inside [start, end)."""
    converted = and_(source.is_not(None), target >= start, target < end, source < target)
    return func.coalesce(func.sum(case((converted, 1), else_=0)), 0)


class FunnelRepository:
    """The six conversion paths per channel: one GROUP BY over events, one over persons."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def report(
        self, *, start: datetime, end: datetime, attribution: Attribution
    ) -> list[tuple[int | None, list[int]]]:
        roles = [
            ConversionKind.FOLLOWED.value,
            ConversionKind.APP_ACTIVATED.value,
            ConversionKind.ACCOUNT_OPENED.value,
        ]
        # Only persons with a role event inside the period can convert in it (index range).
        in_period = aliased(ConversionEvent)
        active = select(in_period.person_id).where(
            in_period.kind.in_(roles), in_period.occurred_at >= start, in_period.occurred_at < end
        )
        per_person = (
            select(
                ConversionEvent.person_id.label("person_id"),
                _first_at(ConversionKind.FOLLOWED).label("fan_at"),
                _first_at(ConversionKind.APP_ACTIVATED).label("app_at"),
                _first_at(ConversionKind.ACCOUNT_OPENED).label("customer_at"),
            )
            .where(
                ConversionEvent.occurred_at < end,
                ConversionEvent.kind.in_(roles),
                ConversionEvent.person_id.in_(active),
            )
            .group_by(ConversionEvent.person_id)
            .subquery("per_person")
        )
        fan, app, customer = per_person.c.fan_at, per_person.c.app_at, per_person.c.customer_at
        channel = (
            Person.first_channel_id
            if attribution == Attribution.FIRST_TOUCH
            else Person.last_channel_id
        )
        stmt = (
            select(
                channel.label("channel_id"),
                _path(fan, app, start, end),
                _path(fan, customer, start, end),
                _path(app, fan, start, end),
                _path(app, customer, start, end),
                _path(customer, fan, start, end),
                _path(customer, app, start, end),
            )
            .select_from(per_person.join(Person, Person.id == per_person.c.person_id))
            .where(
                or_(
                    and_(fan >= start, fan < end),
                    and_(app >= start, app < end),
                    and_(customer >= start, customer < end),
                )
            )
            .group_by(channel)
        )
        rows = (await self.session.execute(stmt)).all()
        return [(row[0], [int(v) for v in row[1:]]) for row in rows]


# -- segments ------------------------------------------------------------------------------


class SegmentFeedRepository(Repository[SegmentFeedCursor]):
    async def lock(self) -> SegmentFeedCursor:
        """The cursor row, locked until commit (one worker reads the feed at a time)."""
        dialect = self.session.get_bind().dialect.name
        init = insert_ignoring_conflicts(dialect, SegmentFeedCursor.__table__, ["id"])
        await self.session.execute(init.values(id=1, last_event_id=0))
        stmt = select(SegmentFeedCursor).where(SegmentFeedCursor.id == 1).with_for_update()
        return (await self.session.scalars(stmt)).one()


class FanSignalRepository(Repository[FanSignal]):
    async def by_openids(self, openids: Iterable[str]) -> dict[str, FanSignal]:
        wanted = set(openids)
        if not wanted:
            return {}
        rows = await self.session.scalars(select(FanSignal).where(FanSignal.openid.in_(wanted)))
        return {row.openid: row for row in rows}

    async def get(self, openid: str) -> FanSignal | None:
        return await self.session.get(FanSignal, openid)

    async def count_follows(self, scene: str, *, start: datetime, end: datetime) -> int:
        """Fans whose latest follow came through `scene` inside [start, end]."""
        stmt = select(func.count()).where(
            FanSignal.follow_scene == scene,
            FanSignal.followed_at >= start,
            FanSignal.followed_at <= end,
        )
        return int(await self.session.scalar(stmt) or 0)

    async def page_openids(self, *, after: str, limit: int) -> list[str]:
        stmt = (
            select(FanSignal.openid)
            .where(FanSignal.openid > after)
            .order_by(FanSignal.openid)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def raise_risk(self, openid: str, score: int, reason: str) -> None:
        stmt = (
            update(FanSignal)
            .where(FanSignal.openid == openid, FanSignal.risk_score < score)
            .values(risk_score=score, risk_reason=reason[:128])
        )
        await self.session.execute(stmt)


class SegmentChangeRepository(Repository[SegmentChange]):
    async def pending(self, *, limit: int) -> list[SegmentChange]:
        stmt = (
            select(SegmentChange)
            .where(SegmentChange.mirrored_at.is_(None))
            .order_by(SegmentChange.id)
            .limit(limit)
        )
        return list(await self.session.scalars(stmt))

    async def mark_mirrored(self, ids: Sequence[int], at: datetime) -> None:
        if ids:
            stmt = update(SegmentChange).where(SegmentChange.id.in_(ids)).values(mirrored_at=at)
            await self.session.execute(stmt)


async def staff_openids_among(session: Any, openids: Iterable[str]) -> set[str]:
    """Openids of active registered staff members among `openids`."""
    wanted = set(openids)
    if not wanted:
        return set()
    stmt = select(StaffMember.openid).where(
        StaffMember.openid.in_(wanted), StaffMember.is_active.is_(True)
    )
    return {o for o in await session.scalars(stmt) if o is not None}


# -- campaigns and draws -------------------------------------------------------------------


class CampaignRepository(Repository[Campaign]):
    async def get_by_code(self, code: str) -> Campaign | None:
        return await self.session.scalar(select(Campaign).where(Campaign.code == code))

    async def get(self, campaign_id: int) -> Campaign | None:
        return await self.session.get(Campaign, campaign_id)

    async def list_all(self, *, limit: int, offset: int) -> list[Campaign]:
        stmt = select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))

    async def list_active(self) -> list[Campaign]:
        stmt = select(Campaign).where(Campaign.is_active.is_(True)).order_by(Campaign.id)
        return list(await self.session.scalars(stmt))

    async def list_with_awards(self, status: str) -> list[Campaign]:
        """Campaigns, active or closed, holding at least one award in `status`."""
        held = select(PrizeAward.id).where(
            PrizeAward.campaign_id == Campaign.id, PrizeAward.status == status
        )
        stmt = select(Campaign).where(held.exists()).order_by(Campaign.id)
        return list(await self.session.scalars(stmt))

    async def is_open_for_awards(self, campaign_id: int) -> bool:
        """Whether the campaign is still active, read under a share lock on its row: a close
        (which updates the row) waits for this transaction, or this one sees the close."""
        stmt = (
            select(Campaign.is_active).where(Campaign.id == campaign_id).with_for_update(read=True)
        )
        return bool(await self.session.scalar(stmt))

    async def prizes(self, campaign_id: int) -> list[CampaignPrize]:
        stmt = (
            select(CampaignPrize)
            .where(CampaignPrize.campaign_id == campaign_id)
            .order_by(CampaignPrize.id)
        )
        return list(await self.session.scalars(stmt))

    async def take_prize(self, prize_id: int) -> bool:
        """The database's own inventory guard: False once the prize is sold out."""
        stmt = (
            update(CampaignPrize)
            .where(CampaignPrize.id == prize_id, CampaignPrize.awarded < CampaignPrize.inventory)
            .values(awarded=CampaignPrize.awarded + 1)
            .returning(CampaignPrize.id)
        )
        return (await self.session.execute(stmt)).first() is not None


class AwardRepository(Repository[PrizeAward]):
    async def get(self, award_id: int) -> PrizeAward | None:
        return await self.session.get(PrizeAward, award_id)

    async def add_claims(self, claims: Sequence[AwardClaim]) -> None:
        self.session.add_all(claims)
        await self.session.flush()

    async def counts_by_prize(self, campaign_id: int) -> dict[int, int]:
        stmt = (
            select(PrizeAward.prize_id, func.count())
            .where(PrizeAward.campaign_id == campaign_id)
            .group_by(PrizeAward.prize_id)
        )
        return {row[0]: int(row[1]) for row in await self.session.execute(stmt)}

    async def counts_won_between(
        self, campaign_id: int, start: datetime, end: datetime
    ) -> dict[int, int]:
        stmt = (
            select(PrizeAward.prize_id, func.count())
            .where(
                PrizeAward.campaign_id == campaign_id,
                PrizeAward.won_at >= start,
                PrizeAward.won_at < end,
            )
            .group_by(PrizeAward.prize_id)
        )
        return {row[0]: int(row[1]) for row in await self.session.execute(stmt)}

    async def claim_keys(self, campaign_id: int) -> list[str]:
        stmt = select(AwardClaim.kind, AwardClaim.value).where(
            AwardClaim.campaign_id == campaign_id
        )
        return [f"{row[0]}:{row[1]}" for row in await self.session.execute(stmt)]

    async def list_for_campaign(
        self, campaign_id: int, *, status: str | None = None, limit: int = 1000
    ) -> list[PrizeAward]:
        stmt = select(PrizeAward).where(PrizeAward.campaign_id == campaign_id)
        if status is not None:
            stmt = stmt.where(PrizeAward.status == status)
        return list(await self.session.scalars(stmt.order_by(PrizeAward.id).limit(limit)))

    async def get_for_identifiers(
        self, campaign_id: int, identifiers: Iterable[tuple[str, str]]
    ) -> PrizeAward | None:
        """The person's award in the campaign, whichever of their identifiers won it."""
        matches = [and_(AwardClaim.kind == k, AwardClaim.value == v) for k, v in identifiers]
        if not matches:
            return None
        stmt = (
            select(PrizeAward)
            .join(AwardClaim, AwardClaim.award_id == PrizeAward.id)
            .where(AwardClaim.campaign_id == campaign_id, or_(*matches))
            .order_by(PrizeAward.id)
            .limit(1)
        )
        return await self.session.scalar(stmt)

    async def release_prize(self, prize_id: int) -> None:
        stmt = (
            update(CampaignPrize)
            .where(CampaignPrize.id == prize_id, CampaignPrize.awarded > 0)
            .values(awarded=CampaignPrize.awarded - 1)
        )
        await self.session.execute(stmt)

    async def delete_claims(self, award_id: int) -> None:
        await self.session.execute(delete(AwardClaim).where(AwardClaim.award_id == award_id))


class DecisionRepository(Repository[DrawDecision]):
    async def list_for_campaign(
        self, campaign_id: int, *, openid: str | None, limit: int, offset: int
    ) -> list[DrawDecision]:
        stmt = select(DrawDecision).where(DrawDecision.campaign_id == campaign_id)
        if openid is not None:
            stmt = stmt.where(DrawDecision.openid == openid)
        stmt = stmt.order_by(DrawDecision.id.desc()).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))


class BlacklistRepository(Repository[DrawBlacklist]):
    async def matching(self, pairs: Iterable[tuple[str, str]]) -> DrawBlacklist | None:
        conditions = [
            and_(DrawBlacklist.kind == kind, DrawBlacklist.value == value) for kind, value in pairs
        ]
        if not conditions:
            return None
        return await self.session.scalar(select(DrawBlacklist).where(or_(*conditions)).limit(1))

    async def get(self, kind: str, value: str) -> DrawBlacklist | None:
        stmt = select(DrawBlacklist).where(DrawBlacklist.kind == kind, DrawBlacklist.value == value)
        return await self.session.scalar(stmt)

    async def list_all(self, *, limit: int, offset: int) -> list[DrawBlacklist]:
        stmt = select(DrawBlacklist).order_by(DrawBlacklist.id).limit(limit).offset(offset)
        return list(await self.session.scalars(stmt))


class ConversionLookup:
    """Conversion facts the draw rules need, by person."""

    def __init__(self, session: Any) -> None:
        self.session = session

    async def first_at(self, person_id: int, kind: str) -> datetime | None:
        stmt = select(func.min(ConversionEvent.occurred_at)).where(
            ConversionEvent.person_id == person_id, ConversionEvent.kind == kind
        )
        value: datetime | None = await self.session.scalar(stmt)
        return value
