"""Builders of the campaigns tests: channels (without WeChat), staff, inbound records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns.constants import ChannelKind
from app.campaigns.models import Channel, StaffMember
from app.webhook.schemas import InboundRecord

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


async def make_channel(
    session: AsyncSession,
    code: str,
    *,
    kind: ChannelKind = ChannelKind.CAMPAIGN,
    staff: StaffMember | None = None,
    is_active: bool = True,
) -> Channel:
    """A channel whose QR scene is its code, as `create_channel` makes it (no WeChat call)."""
    channel = Channel(
        code=code,
        name=code,
        kind=kind.value,
        staff_member_id=staff.id if staff is not None else None,
        scene_str=code,
        is_active=is_active,
        created_by="test",
        created_at=T0,
    )
    session.add(channel)
    await session.flush()
    return channel


async def make_staff(session: AsyncSession, staff_no: str = "S1001") -> StaffMember:
    member = StaffMember(staff_no=staff_no, name="王小明", branch="深圳分公司", registered_at=T0)
    session.add(member)
    await session.flush()
    return member


def record(openid: str, event: str, *, at: float = 0, scene: str | None = None) -> InboundRecord:
    """An inbound `subscribe` / `scan` (or other) record `at` seconds after T0."""
    when = T0 + timedelta(seconds=at)
    key = f"qrscene_{scene}" if scene and event == "subscribe" else scene
    return InboundRecord(
        openid=openid,
        msg_type="event",
        event=event,
        event_key=key,
        scene=scene,
        msg_id=None,
        wechat_created_at=when,
        received_at=when,
    )
