"""Fan lifecycle from recorded inbound batches: follow, unfollow, re-follow, scans, messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.fans import service
from app.webhook.schemas import InboundRecord

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)
OPENID = "oFan000000000000000000000001"


def rec(
    seconds: int,
    *,
    event: str | None,
    scene: str | None = None,
    openid: str = OPENID,
) -> InboundRecord:
    at = T0 + timedelta(seconds=seconds)
    return InboundRecord(
        openid=openid,
        msg_type="event" if event else "text",
        event=event,
        event_key=f"qrscene_{scene}" if scene and event == "subscribe" else scene,
        scene=scene,
        msg_id=None if event else str(seconds),
        wechat_created_at=at,
        received_at=at,
    )


async def fan_after(session: AsyncSession, *batches: list[InboundRecord]):  # type: ignore[no-untyped-def]
    for batch in batches:
        await service.apply_inbound_records(session, batch)
    fan = await service.get_fan(session, OPENID)
    assert fan is not None
    return fan


class TestApplyInboundRecords:
    async def test_follow_by_qr_scan_records_the_scene(self, session: AsyncSession) -> None:
        fan = await fan_after(session, [rec(0, event="subscribe", scene="campaign42")])

        assert fan.is_subscribed is True
        assert fan.subscribe_scene == "campaign42"
        assert fan.first_subscribed_at == fan.last_subscribed_at == T0
        assert fan.subscribe_count == 1
        assert fan.last_seen_at == T0

    async def test_unfollow_then_refollow_by_another_scan(self, session: AsyncSession) -> None:
        fan = await fan_after(
            session,
            [rec(0, event="subscribe", scene="a")],
            [rec(60, event="unsubscribe")],
        )
        assert fan.is_subscribed is False
        assert fan.unsubscribed_at == T0 + timedelta(seconds=60)

        fan = await fan_after(session, [rec(120, event="subscribe", scene="b")])

        assert fan.is_subscribed is True
        assert fan.subscribe_count == 2
        assert fan.first_subscribed_at == T0
        assert fan.last_subscribed_at == T0 + timedelta(seconds=120)
        assert fan.subscribe_scene == "b"

    async def test_events_in_one_batch_apply_in_wechat_time_order(
        self, session: AsyncSession
    ) -> None:
        batch = [rec(60, event="unsubscribe"), rec(0, event="subscribe")]

        fan = await fan_after(session, batch)

        assert fan.is_subscribed is False

    async def test_a_replayed_or_late_old_follow_changes_nothing(
        self, session: AsyncSession
    ) -> None:
        fan = await fan_after(
            session,
            [rec(100, event="subscribe", scene="new")],
            [rec(100, event="subscribe", scene="new"), rec(10, event="subscribe", scene="old")],
        )

        assert fan.subscribe_count == 1
        assert fan.subscribe_scene == "new"
        assert fan.first_subscribed_at == T0 + timedelta(seconds=10)

    async def test_scan_by_a_follower_only_updates_activity(self, session: AsyncSession) -> None:
        fan = await fan_after(
            session,
            [rec(0, event="subscribe", scene="a")],
            [rec(30, event="scan", scene="b")],
        )

        assert fan.subscribe_scene == "a"
        assert fan.subscribe_count == 1
        assert fan.last_seen_at == T0 + timedelta(seconds=30)

    async def test_a_scan_by_an_unknown_fan_creates_a_following_fan(
        self, session: AsyncSession
    ) -> None:
        fan = await fan_after(session, [rec(5, event="scan", scene="x")])

        assert fan.is_subscribed is True
        assert fan.first_subscribed_at is None
        assert fan.last_seen_at == T0 + timedelta(seconds=5)

    async def test_messages_and_clicks_leave_the_fan_table_alone(
        self, session: AsyncSession
    ) -> None:
        await service.apply_inbound_records(session, [rec(5, event=None), rec(6, event="click")])

        assert await service.get_fan(session, OPENID) is None

    async def test_an_empty_batch_is_a_no_op(self, session: AsyncSession) -> None:
        await service.apply_inbound_records(session, [])
        assert await service.get_fan(session, OPENID) is None
