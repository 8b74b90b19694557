"""Tracked links: `/t/{code}` records the click (with the fan when the link carries a signed
fan reference) and redirects to the account-opening or app-download page, tagged with the
channel and the fan reference the brokerage posts back with its conversion events."""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncSession

from app.campaigns import constants as c
from app.campaigns.attribution import new_touch, touch_person
from app.campaigns.channels import get_channel
from app.campaigns.errors import InvalidLinkError, LinkNotFoundError
from app.campaigns.models import TrackedLink
from app.campaigns.repository import (
    ChannelRepository,
    LinkRepository,
    PersonRepository,
    TouchRepository,
)
from app.core.security import constant_time_equals, hmac_sha256_hex, mask_openid

log = logging.getLogger(__name__)
FAN_REF_PURPOSE = "campaigns.fan_ref"


def fan_ref(secret: str, openid: str) -> str:
    """An opaque, signed reference to a fan: `<base64url openid>.<hmac>` (no expiry: the
    brokerage may post it back weeks later with an account opening)."""
    encoded = base64.urlsafe_b64encode(openid.encode()).decode().rstrip("=")
    return f"{encoded}.{_ref_signature(secret, encoded)}"


def read_fan_ref(secret: str, ref: str | None) -> str | None:
    """The openid a reference names, or None when it is missing, malformed or forged."""
    if not ref or len(ref) > 160 or "." not in ref:
        return None
    encoded, _, signature = ref.partition(".")
    if not constant_time_equals(signature, _ref_signature(secret, encoded)):
        return None
    try:
        openid = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return openid if 0 < len(openid) <= 64 else None


def _ref_signature(secret: str, encoded: str) -> str:
    return hmac_sha256_hex(secret, f"{FAN_REF_PURPOSE}:{encoded}".encode())[: c.FAN_REF_SIG_HEX]


async def create_link(
    session: AsyncSession,
    *,
    channel_code: str,
    target: c.LinkTarget,
    target_url: str,
    now: datetime,
) -> TrackedLink:
    """A tracked link for a channel. Targets are fixed by ops, so `/t/` is no open redirect."""
    parts = urlsplit(target_url)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(target_url) > 1024:
        raise InvalidLinkError("target_url must be an absolute http(s) URL of ≤ 1024 chars")
    channel = await get_channel(session, channel_code)
    link = TrackedLink(
        code=secrets.token_urlsafe(c.LINK_CODE_BYTES),
        channel_id=channel.id,
        target=target.value,
        target_url=target_url,
        created_at=now,
    )
    return await LinkRepository(session).add(link)


async def list_links(session: AsyncSession, *, limit: int, offset: int) -> list[TrackedLink]:
    return await LinkRepository(session).list_all(limit=limit, offset=offset)


def link_url(base_url: str, code: str, *, secret: str, openid: str | None = None) -> str:
    """The URL to put in front of a fan (with their signed reference when known)."""
    url = f"{base_url.rstrip('/')}/t/{code}"
    return f"{url}?{urlencode({c.FAN_REF_PARAM: fan_ref(secret, openid)})}" if openid else url


async def follow_link(
    session: AsyncSession, *, code: str, ref: str | None, secret: str, now: datetime
) -> str:
    """Record a click and return where to redirect (channel and fan reference appended)."""
    link = await LinkRepository(session).get_by_code(code)
    if link is None or not link.is_active:
        raise LinkNotFoundError(f"link {code} does not exist")
    channel = await ChannelRepository(session).get(link.channel_id)
    assert channel is not None  # foreign key
    openid = read_fan_ref(secret, ref)
    if openid is not None:
        persons = PersonRepository(session)
        await persons.ensure_openids([openid], now=now)
        person = await persons.get_by_openid(openid)
        if person is not None:
            touch_person(person, channel, now)
    await TouchRepository(session).add_many(
        [new_touch(channel, c.TouchKind.LINK_CLICK, now, openid)]
    )
    log.info(
        "campaigns.link.clicked",
        extra={"channel": channel.code, "openid": mask_openid(openid), "known_fan": bool(openid)},
    )
    params = {c.REDIRECT_CHANNEL_PARAM: channel.code}
    if openid is not None and ref is not None:
        params[c.REDIRECT_REF_PARAM] = ref
    return _with_params(link.target_url, params)


def _with_params(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
