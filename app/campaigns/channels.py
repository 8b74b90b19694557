"""Staff registry and channels with their parametric QR codes (temporary or permanent)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.errors import (
    ChannelExistsError,
    ChannelNotFoundError,
    InvalidChannelError,
    QrCodeError,
    StaffExistsError,
    StaffNotFoundError,
    StaffNotRegisteredError,
)
from app.campaigns.models import Channel, ChannelTouch, StaffMember
from app.campaigns.repository import ChannelRepository, StaffRepository, TouchRepository
from app.core.security import mask_name
from app.wechat.client import WeChatClient
from app.wechat.errors import WeChatError

log = logging.getLogger(__name__)
CODE = re.compile(c.CHANNEL_CODE_PATTERN)
STAFF_NO = re.compile(c.STAFF_NO_PATTERN)


async def register_staff(
    session: AsyncSession, *, staff_no: str, name: str, branch: str, now: datetime
) -> StaffMember:
    """Add a staff member to the registry (a prerequisite for their staff channel)."""
    if not STAFF_NO.match(staff_no) or not name.strip() or len(name) > 64 or len(branch) > 64:
        raise InvalidChannelError("staff_no 2-32 [A-Za-z0-9_-], name 1-64, branch ≤ 64 chars")
    repo = StaffRepository(session)
    if await repo.get_by_staff_no(staff_no) is not None:
        raise StaffExistsError(f"staff member {staff_no} is registered already")
    member = StaffMember(staff_no=staff_no, name=name, branch=branch, registered_at=now)
    await repo.add(member)
    log.info("campaigns.staff.registered", extra={"staff_no": staff_no, "name": mask_name(name)})
    return member


async def get_staff(session: AsyncSession, staff_no: str) -> StaffMember:
    member = await StaffRepository(session).get_by_staff_no(staff_no)
    if member is None:
        raise StaffNotFoundError(f"staff member {staff_no} is not registered")
    return member


async def deactivate_staff(session: AsyncSession, staff_no: str, *, now: datetime) -> StaffMember:
    """A leaver: their channels stop attributing (their past uses stay recorded)."""
    member = await get_staff(session, staff_no)
    member.is_active, member.deactivated_at = False, now
    await ChannelRepository(session).deactivate_for_staff(member.id)
    await session.flush()
    return member


async def list_staff(session: AsyncSession, *, limit: int, offset: int) -> list[StaffMember]:
    return await StaffRepository(session).list_all(limit=limit, offset=offset)


async def list_staff_uses(
    session: AsyncSession, staff_no: str, *, limit: int = 200
) -> list[ChannelTouch]:
    """Every recorded use of the member's channels, newest first."""
    member = await get_staff(session, staff_no)
    return await TouchRepository(session).list_for_staff(member.id, limit=limit)


@dataclass(frozen=True, slots=True)
class QrRequest:
    """`expire_seconds=None`: a permanent code (100,000 per account: use them for branches)."""

    expire_seconds: int | None = c.QR_TEMP_DEFAULT_EXPIRE_S


async def create_channel(
    session: AsyncSession,
    *,
    code: str,
    name: str,
    kind: c.ChannelKind,
    created_by: str,
    now: datetime,
    wechat: WeChatClient | None,
    qr: QrRequest | None = None,
    staff_no: str | None = None,
) -> Channel:
    """A channel; with `qr`, its QR code is created at WeChat (scene_str = code). Flushes."""
    if not CODE.match(code) or not name.strip() or len(name) > 64:
        raise InvalidChannelError(f"code must match {c.CHANNEL_CODE_PATTERN}; name 1-64 chars")
    repo = ChannelRepository(session)
    if await repo.get_by_code(code) is not None:
        raise ChannelExistsError(f"channel {code} exists already")
    channel = Channel(
        code=code,
        name=name,
        kind=kind.value,
        staff_member_id=await _staff_id(session, kind, staff_no),
        created_by=created_by[:64],
        created_at=now,
    )
    if qr is not None:
        if wechat is None:
            raise InvalidChannelError("a QR code needs the WeChat client")
        await _attach_qr(channel, wechat, qr, now=now)
    await repo.add(channel)
    log.info("campaigns.channel.created", extra={"channel": code, "kind": kind.value})
    return channel


async def _staff_id(session: AsyncSession, kind: c.ChannelKind, staff_no: str | None) -> int | None:
    if kind != c.ChannelKind.STAFF:
        if staff_no is not None:
            raise InvalidChannelError("only staff channels name a staff member")
        return None
    member = await StaffRepository(session).get_by_staff_no(staff_no or "")
    if member is None or not member.is_active:
        raise StaffNotRegisteredError(
            f"staff member {staff_no or '(none)'} is not an active member of the staff registry"
        )
    return member.id


async def _attach_qr(
    channel: Channel, wechat: WeChatClient, qr: QrRequest, *, now: datetime
) -> None:
    expire = qr.expire_seconds
    if expire is not None and not 60 <= expire <= c.QR_TEMP_MAX_EXPIRE_S:
        raise InvalidChannelError(f"expire_seconds must be 60..{c.QR_TEMP_MAX_EXPIRE_S}")
    try:
        created = await wechat.create_qrcode(scene_str=channel.code, expire_seconds=expire)
    except WeChatError as exc:
        raise QrCodeError(f"WeChat could not create the QR code: {exc}") from exc
    channel.scene_str = channel.code
    channel.qr_ticket = str(created.get("ticket", ""))[:255]
    channel.qr_url = str(created.get("url", ""))[:255]
    channel.qr_permanent = expire is None
    if expire is not None:
        seconds = int(created.get("expire_seconds") or expire)
        channel.qr_expires_at = now + timedelta(seconds=seconds)


async def get_channel(session: AsyncSession, code: str) -> Channel:
    channel = await ChannelRepository(session).get_by_code(code)
    if channel is None:
        raise ChannelNotFoundError(f"channel {code} does not exist")
    return channel


async def list_channels(session: AsyncSession, *, limit: int, offset: int) -> list[Channel]:
    return await ChannelRepository(session).list_all(limit=limit, offset=offset)


def qr_image_url(channel: Channel) -> str | None:
    """Where ops download the QR image (WeChat's showqrcode URL for the ticket)."""
    return WeChatClient.qrcode_image_url(channel.qr_ticket) if channel.qr_ticket else None
