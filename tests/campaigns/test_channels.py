"""Staff registry and channel QR codes through the real client and the loopback simulator."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import attribution, channels
from app.campaigns.constants import ChannelKind
from app.campaigns.errors import (
    ChannelExistsError,
    ChannelNotFoundError,
    InvalidChannelError,
    QrCodeError,
    StaffExistsError,
    StaffNotRegisteredError,
)
from app.core.time import FakeClock
from app.wechat.client import WeChatClient
from tests.campaigns.conftest import record


async def create(
    session: AsyncSession, wechat: WeChatClient | None, clock: FakeClock, code: str, **kw: object
):  # type: ignore[no-untyped-def]
    values: dict[str, object] = {"kind": ChannelKind.CAMPAIGN, "qr": channels.QrRequest()}
    values.update(kw)
    return await channels.create_channel(
        session,
        code=code,
        name=code,
        created_by="alice",
        now=clock.now(),
        wechat=wechat,
        **values,  # type: ignore[arg-type]
    )


class TestQrCodes:
    async def test_temporary_code_is_created_at_wechat_with_the_scene(
        self,
        session: AsyncSession,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        clock: FakeClock,
    ) -> None:
        channel = await create(session, wechat, clock, "spring-2026", qr=channels.QrRequest(86400))

        assert channel.scene_str == "spring-2026"
        assert channel.qr_permanent is False
        assert channel.qr_expires_at == clock.now() + timedelta(days=1)
        described = (await wechat_sim_admin.get(f"/_admin/qrcodes/{channel.qr_ticket}")).json()
        assert described["scene"] == "spring-2026"
        assert described["action_name"] == "QR_STR_SCENE"
        assert channels.qr_image_url(channel).startswith("https://mp.weixin.qq.com/")  # type: ignore[union-attr]

    async def test_permanent_code_for_a_branch(
        self,
        session: AsyncSession,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        clock: FakeClock,
    ) -> None:
        channel = await create(
            session,
            wechat,
            clock,
            "branch-sz01",
            kind=ChannelKind.BRANCH,
            qr=channels.QrRequest(None),
        )
        described = (await wechat_sim_admin.get(f"/_admin/qrcodes/{channel.qr_ticket}")).json()
        assert described["permanent"] is True
        assert channel.qr_expires_at is None

    async def test_a_wechat_failure_is_reported_and_nothing_is_kept(
        self,
        session: AsyncSession,
        wechat: WeChatClient,
        wechat_sim_admin: httpx.AsyncClient,
        clock: FakeClock,
    ) -> None:
        fault = {"path": "/cgi-bin/qrcode/create", "errcode": 45009, "count": 1}
        await wechat_sim_admin.post("/_admin/faults", json=fault)
        with pytest.raises(QrCodeError):
            await create(session, wechat, clock, "quota-gone")
        with pytest.raises(ChannelNotFoundError):
            await channels.get_channel(session, "quota-gone")

    @pytest.mark.parametrize("code", ["UPPER", "a", "has space", "x" * 49])
    async def test_bad_codes_are_refused(
        self, session: AsyncSession, clock: FakeClock, code: str
    ) -> None:
        with pytest.raises(InvalidChannelError):
            await create(session, None, clock, code, qr=None)

    async def test_codes_are_unique(self, session: AsyncSession, clock: FakeClock) -> None:
        await create(session, None, clock, "online-a", qr=None, kind=ChannelKind.ONLINE)
        with pytest.raises(ChannelExistsError):
            await create(session, None, clock, "online-a", qr=None, kind=ChannelKind.ONLINE)


class TestStaffChannels:
    async def test_a_staff_channel_needs_a_registered_staff_member(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        with pytest.raises(StaffNotRegisteredError):
            await create(
                session, None, clock, "staff-x", kind=ChannelKind.STAFF, qr=None, staff_no="S404"
            )
        with pytest.raises(InvalidChannelError):
            await create(session, None, clock, "campaign-x", qr=None, staff_no="S404")

    async def test_every_use_of_a_staff_channel_is_recorded(
        self, session: AsyncSession, wechat: WeChatClient, clock: FakeClock
    ) -> None:
        await channels.register_staff(
            session, staff_no="S1001", name="王小明", branch="深圳", now=clock.now()
        )
        with pytest.raises(StaffExistsError):
            await channels.register_staff(
                session, staff_no="S1001", name="王小明", branch="深圳", now=clock.now()
            )
        await create(
            session, wechat, clock, "staff-s1001", kind=ChannelKind.STAFF, staff_no="S1001"
        )
        await attribution.apply_inbound_records(
            session,
            [
                record("oClientA00000000000000000001", "subscribe", scene="staff-s1001"),
                record("oClientB00000000000000000002", "scan", at=60, scene="staff-s1001"),
            ],
        )

        uses = await channels.list_staff_uses(session, "S1001")

        assert [(u.kind, u.openid) for u in uses] == [
            ("scan", "oClientB00000000000000000002"),
            ("follow", "oClientA00000000000000000001"),
        ]

    async def test_a_leaver_cannot_get_a_new_channel_and_old_ones_stop_attributing(
        self, session: AsyncSession, clock: FakeClock
    ) -> None:
        await channels.register_staff(
            session, staff_no="S2002", name="李四", branch="", now=clock.now()
        )
        channel = await create(
            session, None, clock, "staff-s2002", kind=ChannelKind.STAFF, qr=None, staff_no="S2002"
        )
        await channels.deactivate_staff(session, "S2002", now=clock.now())
        await session.refresh(channel)

        assert channel.is_active is False
        with pytest.raises(StaffNotRegisteredError):
            await create(
                session,
                None,
                clock,
                "staff-s2002-b",
                kind=ChannelKind.STAFF,
                qr=None,
                staff_no="S2002",
            )
