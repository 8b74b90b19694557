"""Bodies of `wxbroker menu push | import | export` (the CLI parses arguments and prints)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.content import service
from app.content.errors import MenuVersionNotFoundError, MenuVersionStateError
from app.content.models import MenuVersion
from app.core.config import Settings
from app.core.db import unit_of_work
from app.core.resources import Resources
from app.wechat.client import create_wechat_client


async def push_menu(
    settings: Settings, *, version: int | None, builtin: bool, actor: str
) -> MenuVersion:
    """Validate and publish a version to WeChat: `version`, else the published one again,
    else (a fresh install, or `builtin`) the built-in menu as version 1."""
    resources = Resources.create(settings)
    wechat = create_wechat_client(settings, resources.redis, resources.http, clock=resources.clock)
    try:
        async with unit_of_work(resources.sessionmaker) as session:
            now = resources.clock.now()
            if not builtin and version is None:
                version = await _current_version(session)
            if builtin or version is None:
                return await service.publish_builtin_menu(
                    session, wechat=wechat, base_url=settings.base_url, published_by=actor, now=now
                )
            return await service.publish_menu_version(
                session,
                version=version,
                wechat=wechat,
                base_url=settings.base_url,
                published_by=actor,
                now=now,
            )
    finally:
        await wechat.aclose()
        await resources.close()


async def _current_version(session: AsyncSession) -> int | None:
    """The published version; None on a fresh install (no versions at all)."""
    try:
        return (await service.get_published_menu_version(session)).version
    except MenuVersionNotFoundError:
        if await service.list_menu_versions(session, limit=1):
            raise MenuVersionStateError(
                "no version is published yet: pass --version N (or --builtin)"
            ) from None
        return None


async def import_menu(settings: Settings, *, text: bytes, actor: str) -> MenuVersion:
    """A draft version from the YAML text of a definition."""
    resources = Resources.create(settings)
    try:
        async with unit_of_work(resources.sessionmaker) as session:
            return await service.import_menu_yaml(
                session,
                text=text,
                created_by=actor,
                base_url=settings.base_url,
                now=resources.clock.now(),
            )
    finally:
        await resources.close()


async def export_menu(settings: Settings, *, version: int | None) -> str:
    """A version (the published one by default) as YAML."""
    resources = Resources.create(settings)
    try:
        async with resources.sessionmaker() as session:
            return await service.export_menu_yaml(session, version)
    finally:
        await resources.close()
