"""Ops API of the content feature: keyword replies, articles, menu versions (draft, import,
export, validate). Mounted behind the ops roles (app/main.py: viewers read, operators write);
every write is recorded in the ops audit log with before/after (`AuditTrailDep`). Publishing a
version is a four-eyes approval of the ops feature (`/api/v1/ops/menu-publications`), which
calls `service.publish_menu_version`; keyword and article edits are audited, not four-eyes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse

from app.content import service
from app.content.constants import MENU_YAML_MAX_BYTES
from app.content.dependencies import OpsActorDep
from app.content.errors import MenuValidationError
from app.content.schemas import (
    ArticleCreate,
    ArticleRead,
    ArticleUpdate,
    KeywordReplyCreate,
    KeywordReplyRead,
    KeywordReplyUpdate,
    MenuCheck,
    MenuDraft,
    MenuPublicationRead,
    MenuVersionRead,
)
from app.core.deps import SessionDep, SettingsDep
from app.core.routing import CommitBeforeResponseRoute
from app.ops.dependencies import AuditTrailDep

router = APIRouter(
    prefix="/api/v1/ops/content", tags=["content"], route_class=CommitBeforeResponseRoute
)
Id = Annotated[int, Path(ge=1, le=2**62)]
Version = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


# -- keyword replies -----------------------------------------------------------------------


@router.get("/keyword-replies")
async def list_keyword_replies(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[KeywordReplyRead]:
    rows = await service.list_keyword_replies(session, limit=limit, offset=offset)
    return [KeywordReplyRead.model_validate(r) for r in rows]


@router.post("/keyword-replies", status_code=201)
async def create_keyword_reply(
    body: KeywordReplyCreate, session: SessionDep, audit: AuditTrailDep
) -> KeywordReplyRead:
    row = await service.create_keyword_reply(session, **body.model_dump(), audit=audit)
    return KeywordReplyRead.model_validate(row)


@router.get("/keyword-replies/{reply_id}")
async def get_keyword_reply(reply_id: Id, session: SessionDep) -> KeywordReplyRead:
    return KeywordReplyRead.model_validate(await service.get_keyword_reply(session, reply_id))


@router.patch("/keyword-replies/{reply_id}")
async def update_keyword_reply(
    reply_id: Id, body: KeywordReplyUpdate, session: SessionDep, audit: AuditTrailDep
) -> KeywordReplyRead:
    """Edit a rule; `{"is_active": false}` disables it (rules are never deleted)."""
    changes = body.model_dump(exclude_unset=True)
    row = await service.update_keyword_reply(session, reply_id, changes=changes, audit=audit)
    return KeywordReplyRead.model_validate(row)


# -- articles ------------------------------------------------------------------------------


@router.get("/articles")
async def list_articles(
    session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> list[ArticleRead]:
    rows = await service.list_articles(session, limit=limit, offset=offset)
    return [ArticleRead.model_validate(r) for r in rows]


@router.post("/articles", status_code=201)
async def create_article(
    request: Request, body: ArticleCreate, session: SessionDep, audit: AuditTrailDep
) -> ArticleRead:
    now = request.app.state.clock.now()
    row = await service.create_article(session, now=now, **body.model_dump(), audit=audit)
    return ArticleRead.model_validate(row)


@router.patch("/articles/{article_id}")
async def update_article(
    article_id: Id, body: ArticleUpdate, session: SessionDep, audit: AuditTrailDep
) -> ArticleRead:
    """Edit an article; `{"is_active": false}` withdraws it from replies and the news menu."""
    changes = body.model_dump(exclude_unset=True)
    row = await service.update_article(session, article_id, changes=changes, audit=audit)
    return ArticleRead.model_validate(row)


# -- menus ---------------------------------------------------------------------------------


@router.get("/menus")
async def list_menu_versions(session: SessionDep, limit: Limit = 50) -> list[MenuVersionRead]:
    rows = await service.list_menu_versions(session, limit=limit)
    return [MenuVersionRead.model_validate(r) for r in rows]


@router.post("/menus:validate")
async def validate_menu(body: MenuDraft, settings: SettingsDep) -> MenuCheck:
    problems = service.check_menu_definition(body.definition, base_url=settings.base_url)
    return MenuCheck(valid=not problems, problems=problems)


@router.post("/menus", status_code=201)
async def draft_menu_version(
    request: Request,
    body: MenuDraft,
    session: SessionDep,
    settings: SettingsDep,
    actor: OpsActorDep,
    audit: AuditTrailDep,
) -> MenuVersionRead:
    row = await service.draft_menu_version(
        session,
        definition=body.definition,
        note=body.note,
        created_by=actor,
        base_url=settings.base_url,
        now=request.app.state.clock.now(),
        audit=audit,
    )
    return MenuVersionRead.model_validate(row)


@router.post("/menus:import", status_code=201)
async def import_menu_yaml(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    actor: OpsActorDep,
    audit: AuditTrailDep,
) -> MenuVersionRead:
    """Body: the YAML text of a definition (as `GET /menus/{version}/yaml` exports it)."""
    raw = await _capped_body(request)
    row = await service.import_menu_yaml(
        session,
        text=raw,
        created_by=actor,
        base_url=settings.base_url,
        now=request.app.state.clock.now(),
        audit=audit,
    )
    return MenuVersionRead.model_validate(row)


@router.get("/menus/{version}")
async def get_menu_version(version: Version, session: SessionDep) -> MenuVersionRead:
    return MenuVersionRead.model_validate(await service.get_menu_version(session, version))


@router.get("/menus/{version}/yaml", response_class=PlainTextResponse)
async def export_menu_yaml(version: Version, session: SessionDep) -> PlainTextResponse:
    text = await service.export_menu_yaml(session, version)
    return PlainTextResponse(text, media_type="application/yaml; charset=utf-8")


@router.get("/menus/{version}/publications")
async def list_menu_publications(
    version: Version, session: SessionDep
) -> list[MenuPublicationRead]:
    rows = await service.list_menu_publications(session, version)
    return [MenuPublicationRead.model_validate(r) for r in rows]


async def _capped_body(request: Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MENU_YAML_MAX_BYTES:
            raise MenuValidationError([f"menu: YAML larger than {MENU_YAML_MAX_BYTES} bytes"])
        chunks.append(chunk)
    return b"".join(chunks)
