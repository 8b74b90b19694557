"""Attribution from recorded follows and scans: touches, first/last touch, first follows."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import attribution
from app.campaigns.constants import ChannelKind
from app.campaigns.models import ChannelTouch, ConversionEvent, Person
from app.core.db import unit_of_work
from tests.campaigns.conftest import T0, make_channel, make_staff, record
from tests.content.ops_keys import api_key_headers
from tests.webhook.signing import deliver, post

FAN = "oFanAttribution0000000000001"


async def touches(session: AsyncSession) -> list[tuple[str | None, str, int]]:
    rows = await session.scalars(select(ChannelTouch).order_by(ChannelTouch.occurred_at))
    return [(t.openid, t.kind, t.channel_id) for t in rows]


async def followed(session: AsyncSession) -> list[tuple[str, object]]:
    rows = await session.scalars(select(ConversionEvent).where(ConversionEvent.kind == "followed"))
    return [(e.event_id, e.occurred_at) for e in rows]


class TestApplyInboundRecords:
    async def test_follow_with_scene_is_a_touch_and_sets_first_and_last_touch(
        self, session: AsyncSession
    ) -> None:
        channel = await make_channel(session, "spring-open")
        await attribution.apply_inbound_records(
            session, [record(FAN, "subscribe", scene="spring-open")]
        )

        assert await touches(session) == [(FAN, "follow", channel.id)]
        found = await attribution.get_attribution(session, FAN)
        assert found is not None
        assert (found.first_channel, found.last_channel) == ("spring-open", "spring-open")
        assert found.first_touch_at == T0
        assert await followed(session) == [(f"followed:{FAN}", T0)]

    async def test_scan_by_an_existing_fan_moves_only_the_last_touch(
        self, session: AsyncSession
    ) -> None:
        first = await make_channel(session, "branch-sz")
        later = await make_channel(session, "expo-2026")
        await attribution.apply_inbound_records(
            session, [record(FAN, "subscribe", scene="branch-sz")]
        )
        await attribution.apply_inbound_records(
            session, [record(FAN, "scan", at=3600, scene="expo-2026")]
        )

        found = await attribution.get_attribution(session, FAN)
        assert found is not None
        assert (found.first_channel, found.last_channel) == ("branch-sz", "expo-2026")
        assert found.last_touch_at == T0 + timedelta(hours=1)
        assert [k for _, k, _ in await touches(session)] == ["follow", "scan"]
        assert {c for _, _, c in await touches(session)} == {first.id, later.id}
        assert len(await followed(session)) == 1  # a scan is no follow

    async def test_plain_follows_and_foreign_scenes_make_no_touch(
        self, session: AsyncSession
    ) -> None:
        await attribution.apply_inbound_records(
            session,
            [
                record(FAN, "subscribe"),
                record(FAN, "scan", at=5, scene="bind-login-123"),  # another feature's QR
                record(FAN, "click", at=6, scene=None),
            ],
        )
        assert await touches(session) == []
        assert len(await followed(session)) == 1
        found = await attribution.get_attribution(session, FAN)
        assert found is not None
        assert found.first_channel is None

    async def test_a_late_batch_with_an_earlier_follow_moves_first_touch_and_follow_time(
        self, session: AsyncSession
    ) -> None:
        await make_channel(session, "late")
        await make_channel(session, "early")
        await attribution.apply_inbound_records(
            session, [record(FAN, "subscribe", at=600, scene="late")]
        )
        await attribution.apply_inbound_records(
            session, [record(FAN, "subscribe", at=0, scene="early")]
        )

        found = await attribution.get_attribution(session, FAN)
        assert found is not None
        assert (found.first_channel, found.last_channel) == ("early", "late")
        assert await followed(session) == [(f"followed:{FAN}", T0)]

    async def test_staff_channel_uses_are_recorded_with_the_staff_member(
        self, session: AsyncSession
    ) -> None:
        member = await make_staff(session)
        await make_channel(session, "staff-s1001", kind=ChannelKind.STAFF, staff=member)
        await attribution.apply_inbound_records(
            session,
            [
                record(FAN, "subscribe", scene="staff-s1001"),
                record("oOtherFan000000000000000002", "scan", at=9, scene="staff-s1001"),
            ],
        )
        rows = list(await session.scalars(select(ChannelTouch)))
        assert [t.staff_member_id for t in rows] == [member.id, member.id]

    async def test_an_inactive_channel_is_recorded_but_attributes_nothing(
        self, session: AsyncSession
    ) -> None:
        await make_channel(session, "closed", is_active=False)
        await attribution.apply_inbound_records(session, [record(FAN, "subscribe", scene="closed")])
        assert len(await touches(session)) == 1
        person = await session.scalar(select(Person).where(Person.openid == FAN))
        assert person is not None
        assert person.first_channel_id is None


class TestThroughTheWebhook:
    async def test_a_qr_follow_posted_to_wechat_is_attributed(
        self, app: FastAPI, client: httpx.AsyncClient
    ) -> None:
        async with unit_of_work(app.state.sessionmaker) as session:
            await make_channel(session, "poster-a")
        xml = (
            "<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>"
            f"{FAN}</FromUserName><CreateTime>1767225600</CreateTime><MsgType>event</MsgType>"
            "<Event>subscribe</Event><EventKey>qrscene_poster-a</EventKey><Ticket>T</Ticket></xml>"
        )
        assert (await post(client, deliver(xml, "safe"))).status_code == 200
        await app.state.webhook.recorder.flush()

        client.headers.update(await api_key_headers(app))
        response = await client.get(f"/api/v1/ops/campaigns/attribution/{FAN}")

        assert response.status_code == 200
        body = response.json()
        assert body["first_channel"] == body["last_channel"] == "poster-a"
        assert [t["kind"] for t in body["touches"]] == ["follow"]
