"""HTTP API of campaigns: tracked-link redirects, signed conversion ingest, the fans' H5
campaign page, and the ops API (staff registry, channels + QR codes, links, attribution, the
funnel as JSON and CSV, lottery campaigns). `app.main` mounts the ops router behind
`require_staff()`: viewers read, operators write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from app.accounts import service as accounts_service
from app.accounts.dependencies import CsrfFanDep, OptionalFanDep
from app.campaigns import (
    abuse,
    attribution,
    campaigns,
    channels,
    conversions,
    funnel,
    links,
    lottery,
    pages,
    participation,
    segments,
)
from app.campaigns import constants as c
from app.campaigns.dependencies import OpsActorDep, SignedBody, WeChatDep
from app.campaigns.errors import CampaignPageNotFoundError, DrawUnavailableError
from app.campaigns.models import Channel, TrackedLink
from app.campaigns.schemas import (
    AttributionRead,
    AwardRead,
    AwardReview,
    BlacklistCreate,
    BlacklistRead,
    CampaignClose,
    CampaignCreate,
    CampaignRead,
    ChannelCreate,
    ChannelRead,
    ConversionsAccepted,
    DecisionRead,
    DrawRequest,
    DrawResultRead,
    FanDrawRead,
    FunnelReport,
    LinkCreate,
    LinkRead,
    PrizeCheckRead,
    ReconcileRead,
    SegmentMembersRead,
    SegmentSize,
    StaffCreate,
    StaffOpenidLink,
    StaffRead,
    StaffUseRead,
    SweepResult,
    TouchRead,
)
from app.core.deps import SessionDep, SettingsDep
from app.core.errors import NotFound
from app.core.routing import CommitBeforeResponseRoute
from app.core.security import mask_openid
from app.ops.dependencies import AuditTrailDep

public = APIRouter(tags=["campaigns"], route_class=CommitBeforeResponseRoute)
ingest = APIRouter(prefix="/api/v1", tags=["campaigns"], route_class=CommitBeforeResponseRoute)
ops = APIRouter(
    prefix="/api/v1/ops/campaigns", tags=["campaigns"], route_class=CommitBeforeResponseRoute
)
# The fans' campaign pages: the accounts feature's H5 session (OAuth snsapi_base) and CSRF.
h5 = APIRouter(prefix=c.H5_PREFIX, tags=["h5-campaigns"], route_class=CommitBeforeResponseRoute)

LinkCode = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{4,24}$")]
ChannelCode = Annotated[str, Path(pattern=c.CHANNEL_CODE_PATTERN)]
StaffNo = Annotated[str, Path(pattern=c.STAFF_NO_PATTERN)]
OpenIdPath = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{6,64}$")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]
FanRef = Annotated[str | None, Query(alias=c.FAN_REF_PARAM, max_length=160)]


def _secret(settings: SettingsDep) -> str:
    return settings.secret_key.get_secret_value()


@public.get("/t/{code}", include_in_schema=False)
async def follow_link(
    request: Request, code: LinkCode, session: SessionDep, settings: SettingsDep, f: FanRef = None
) -> RedirectResponse:
    target = await links.follow_link(
        session, code=code, ref=f, secret=_secret(settings), now=request.app.state.clock.now()
    )
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})


@ingest.post("/conversions", status_code=202)
async def post_conversions(
    request: Request, body: SignedBody, session: SessionDep, settings: SettingsDep
) -> ConversionsAccepted:
    return await conversions.ingest_conversions(
        session, body=body, secret=_secret(settings), now=request.app.state.clock.now()
    )


# -- staff registry ------------------------------------------------------------------------


@ops.post("/staff", status_code=201)
async def register_staff(request: Request, body: StaffCreate, session: SessionDep) -> StaffRead:
    member = await channels.register_staff(
        session, **body.model_dump(), now=request.app.state.clock.now()
    )
    return StaffRead.model_validate(member)


@ops.get("/staff")
async def list_staff(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[StaffRead]:
    rows = await channels.list_staff(session, limit=limit, offset=offset)
    return [StaffRead.model_validate(r) for r in rows]


@ops.post("/staff/{staff_no}/deactivate")
async def deactivate_staff(request: Request, staff_no: StaffNo, session: SessionDep) -> StaffRead:
    member = await channels.deactivate_staff(session, staff_no, now=request.app.state.clock.now())
    return StaffRead.model_validate(member)


@ops.get("/staff/{staff_no}/uses")
async def list_staff_uses(
    staff_no: StaffNo, session: SessionDep, limit: Limit = 200
) -> list[StaffUseRead]:
    touches = await channels.list_staff_uses(session, staff_no, limit=limit)
    return [
        StaffUseRead(
            channel_id=t.channel_id,
            kind=t.kind,
            openid_masked=mask_openid(t.openid),
            occurred_at=t.occurred_at,
        )
        for t in touches
    ]


# -- channels and links --------------------------------------------------------------------


def _channel_read(channel: Channel) -> ChannelRead:
    read = ChannelRead.model_validate(channel)
    return read.model_copy(update={"qr_image_url": channels.qr_image_url(channel)})


@ops.post("/channels", status_code=201)
async def create_channel(
    request: Request,
    body: ChannelCreate,
    session: SessionDep,
    wechat: WeChatDep,
    actor: OpsActorDep,
) -> ChannelRead:
    qr = None
    if body.qr is not None:
        qr = channels.QrRequest(None if body.qr.permanent else body.qr.expire_seconds)
    channel = await channels.create_channel(
        session,
        code=body.code,
        name=body.name,
        kind=body.kind,
        staff_no=body.staff_no,
        qr=qr,
        wechat=wechat,
        created_by=actor,
        now=request.app.state.clock.now(),
    )
    return _channel_read(channel)


@ops.get("/channels")
async def list_channels(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[ChannelRead]:
    rows = await channels.list_channels(session, limit=limit, offset=offset)
    return [_channel_read(r) for r in rows]


@ops.get("/channels/{code}")
async def get_channel(code: ChannelCode, session: SessionDep) -> ChannelRead:
    return _channel_read(await channels.get_channel(session, code))


def _link_read(link: TrackedLink, channel_code: str, base_url: str, secret: str) -> LinkRead:
    return LinkRead(
        code=link.code,
        channel=channel_code,
        target=link.target,
        target_url=link.target_url,
        url=links.link_url(base_url, link.code, secret=secret),
    )


@ops.post("/links", status_code=201)
async def create_link(
    request: Request, body: LinkCreate, session: SessionDep, settings: SettingsDep
) -> LinkRead:
    link = await links.create_link(
        session,
        channel_code=body.channel,
        target=body.target,
        target_url=body.target_url,
        now=request.app.state.clock.now(),
    )
    return _link_read(link, body.channel, settings.base_url, _secret(settings))


@ops.get("/links")
async def list_links(
    session: SessionDep, settings: SettingsDep, limit: Limit = 100, offset: Offset = 0
) -> list[LinkRead]:
    rows = await links.list_links(session, limit=limit, offset=offset)
    codes = {ch.id: ch.code for ch in await channels.list_channels(session, limit=10_000, offset=0)}
    return [
        _link_read(r, codes.get(r.channel_id, ""), settings.base_url, _secret(settings))
        for r in rows
    ]


# -- attribution and the funnel ------------------------------------------------------------


@ops.get("/attribution/{openid}")
async def get_attribution(openid: OpenIdPath, session: SessionDep) -> AttributionRead:
    found = await attribution.get_attribution(session, openid)
    if found is None:
        raise NotFound(f"no attribution for fan {mask_openid(openid)}")
    return AttributionRead(
        first_channel=found.first_channel,
        first_touch_at=found.first_touch_at,
        last_channel=found.last_channel,
        last_touch_at=found.last_touch_at,
        touches=[TouchRead(channel=ch, kind=k, occurred_at=at) for ch, k, at in found.touches],
    )


@ops.get("/funnel")
async def get_funnel(
    session: SessionDep,
    start: datetime,
    end: datetime,
    model: c.Attribution = c.Attribution.FIRST_TOUCH,
) -> FunnelReport:
    return await funnel.funnel_report(session, start=start, end=end, attribution=model)


@ops.get("/funnel.csv", response_class=PlainTextResponse)
async def get_funnel_csv(
    session: SessionDep,
    start: datetime,
    end: datetime,
    model: c.Attribution = c.Attribution.FIRST_TOUCH,
) -> PlainTextResponse:
    report = await funnel.funnel_report(session, start=start, end=end, attribution=model)
    filename = f"funnel-{start:%Y%m%d}-{end:%Y%m%d}-{model.value}.csv"
    return PlainTextResponse(
        funnel.funnel_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- segments ------------------------------------------------------------------------------

SegmentName = Annotated[str, Path(pattern=r"^[a-z0-9_.-]{1,64}$")]


@ops.put("/staff/{staff_no}/openid")
async def link_staff_openid(
    request: Request, staff_no: StaffNo, body: StaffOpenidLink, session: SessionDep
) -> StaffRead:
    member = await segments.link_staff_openid(
        session, staff_no, openid=body.openid, now=request.app.state.clock.now()
    )
    return StaffRead.model_validate(member)


@ops.get("/segments")
async def list_segments(session: SessionDep) -> list[SegmentSize]:
    sizes = await segments.segment_sizes(session)
    return [
        SegmentSize(segment=s.value, size=sizes[s.value], wechat_tag=segments.tag_name(s))
        for s in c.Segment
    ]


@ops.get("/segments/{segment}/members")
async def list_segment_members(
    segment: SegmentName, session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> SegmentMembersRead:
    found = await segments.list_members(session, segment, limit=limit, offset=offset)
    return SegmentMembersRead(
        segment=found.segment, size=found.size, members_masked=found.members_masked
    )


@ops.post("/segments/sweep")
async def sweep_segments(request: Request) -> SweepResult:
    """Recompute every fan now (each page commits on its own, like the worker's sweep)."""
    changes = await segments.sweep_segments(
        request.app.state.sessionmaker, now=request.app.state.clock.now()
    )
    return SweepResult(changes=changes)


# -- campaigns and the lottery -------------------------------------------------------------

CampaignCode = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_.-]{1,47}$")]


def _lottery(request: Request) -> lottery.Lottery:
    state = request.app.state
    return lottery.Lottery(state.sessionmaker, state.redis, state.clock, lottery.SYSTEM_RANDOM)


def _with_page(read: CampaignRead, settings: SettingsDep) -> CampaignRead:
    return read.model_copy(update={"page_url": f"{settings.base_url}{c.H5_PREFIX}/{read.code}"})


@ops.post("/lottery", status_code=201)
async def create_campaign(
    request: Request,
    body: CampaignCreate,
    session: SessionDep,
    actor: OpsActorDep,
    settings: SettingsDep,
) -> CampaignRead:
    read = await campaigns.create_campaign(
        session, body, actor=actor, now=request.app.state.clock.now()
    )
    return _with_page(read, settings)


@ops.get("/lottery")
async def list_campaigns(
    session: SessionDep, settings: SettingsDep, limit: Limit = 100, offset: Offset = 0
) -> list[CampaignRead]:
    rows = await campaigns.list_campaigns(session, limit=limit, offset=offset)
    return [_with_page(r, settings) for r in rows]


@ops.get("/lottery/{code}")
async def get_campaign(
    code: CampaignCode, session: SessionDep, settings: SettingsDep
) -> CampaignRead:
    return _with_page(await campaigns.get_campaign(session, code), settings)


@ops.post("/lottery/{code}/close")
async def close_campaign(
    code: CampaignCode,
    body: CampaignClose,
    session: SessionDep,
    settings: SettingsDep,
    audit: AuditTrailDep,
) -> CampaignRead:
    """Stop a campaign's draws now (audited); wins already made are still reviewed and paid."""
    read = await campaigns.close_campaign(session, code, reason=body.reason, audit=audit)
    return _with_page(read, settings)


@ops.post("/lottery/{code}/draw")
async def draw(request: Request, code: CampaignCode, body: DrawRequest) -> DrawResultRead:
    """A draw on a fan's behalf (support staff; fans use /h5/campaigns/{code}); commits itself."""
    result = await _lottery(request).draw(code, body.openid)
    return DrawResultRead(
        decision=result.decision.value,
        reason=result.reason,
        prize=result.prize,
        award_id=result.award_id,
        message=result.message,
    )


@ops.get("/lottery/{code}/decisions")
async def list_decisions(
    code: CampaignCode,
    session: SessionDep,
    openid: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{6,64}$")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[DecisionRead]:
    rows = await lottery.list_decisions(session, code, openid=openid, limit=limit, offset=offset)
    return [
        DecisionRead.model_validate(r).model_copy(update={"openid": mask_openid(r.openid)})
        for r in rows
    ]


@ops.get("/lottery/{code}/awards")
async def list_awards(
    code: CampaignCode, session: SessionDep, status: c.AwardStatus | None = None
) -> list[AwardRead]:
    rows = await lottery.list_awards(session, code, status=status.value if status else None)
    return [
        AwardRead.model_validate(r).model_copy(update={"openid": mask_openid(r.openid)})
        for r in rows
    ]


async def _reconcile(request: Request, code: str, *, repair: bool) -> ReconcileRead:
    state = request.app.state
    report = await lottery.reconcile(
        state.sessionmaker, state.redis, code, now=state.clock.now(), repair=repair
    )
    return ReconcileRead(
        campaign=report.campaign,
        agrees=report.agrees,
        repaired=report.repaired,
        prizes=[
            PrizeCheckRead(
                prize=p.prize,
                inventory=p.inventory,
                db_awarded=p.db_awarded,
                db_awards=p.db_awards,
                redis_left=p.redis_left,
            )
            for p in report.prizes
        ],
        db_claims=report.db_claims,
        redis_claims=report.redis_claims,
    )


@ops.get("/lottery/{code}/reconcile")
async def check_reconcile(request: Request, code: CampaignCode) -> ReconcileRead:
    return await _reconcile(request, code, repair=False)


@ops.post("/lottery/{code}/reconcile")
async def repair_reconcile(request: Request, code: CampaignCode) -> ReconcileRead:
    return await _reconcile(request, code, repair=True)


@ops.post("/lottery/awards/{award_id}/review")
async def review_award(
    request: Request,
    award_id: Annotated[int, Path(ge=1)],
    body: AwardReview,
    session: SessionDep,
    actor: OpsActorDep,
) -> AwardRead:
    award = await lottery.review_award(
        session,
        award_id,
        approve=body.approve,
        reason=body.reason,
        actor=actor,
        now=request.app.state.clock.now(),
    )
    return AwardRead.model_validate(award).model_copy(update={"openid": mask_openid(award.openid)})


@ops.post("/lottery/awards/{award_id}/paid")
async def mark_paid(
    request: Request, award_id: Annotated[int, Path(ge=1)], session: SessionDep
) -> AwardRead:
    award = await lottery.mark_paid(session, award_id, now=request.app.state.clock.now())
    return AwardRead.model_validate(award).model_copy(update={"openid": mask_openid(award.openid)})


@ops.post("/blacklist", status_code=201)
async def add_blacklist(
    request: Request, body: BlacklistCreate, session: SessionDep, actor: OpsActorDep
) -> BlacklistRead:
    row = await abuse.add_to_blacklist(
        session,
        kind=body.kind,
        value=body.value,
        reason=body.reason,
        actor=actor,
        now=request.app.state.clock.now(),
    )
    return BlacklistRead.model_validate(row)


@ops.get("/blacklist")
async def list_blacklist(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[BlacklistRead]:
    rows = await abuse.list_blacklist(session, limit=limit, offset=offset)
    return [BlacklistRead.model_validate(r) for r in rows]


@ops.delete("/blacklist/{kind}/{value}", status_code=204)
async def remove_blacklist(
    kind: c.BlacklistKind,
    value: Annotated[str, Path(min_length=1, max_length=128)],
    session: SessionDep,
) -> None:
    await abuse.remove_from_blacklist(session, kind=kind, value=value)


# -- the fans' campaign page ---------------------------------------------------------------


@h5.get("/{code}", response_model=None)
async def campaign_page(
    request: Request, code: str, fan: OptionalFanDep, session: SessionDep, settings: SettingsDep
) -> Response:
    """The campaign and the fan's own status; without a session, through OAuth first."""
    state = request.app.state
    try:
        await participation.get_campaign_for_page(session, code)
        if fan is None:
            start = accounts_service.start_oauth(
                wechat=state.wechat,
                settings=settings,
                clock=state.clock,
                return_path=request.url.path,
            )
            return accounts_service.oauth_redirect(start, settings)
        view = await participation.campaign_page(
            session, state.redis, code=code, openid=fan.openid, now=state.clock.now()
        )
    except (CampaignPageNotFoundError, DrawUnavailableError) as exc:  # a page, not JSON
        return pages.message_page(exc.detail, exc.status)
    return pages.campaign_page(view, fan)


@h5.post("/{code}/draw")
async def draw_from_page(request: Request, code: str, fan: CsrfFanDep) -> FanDrawRead:
    """A tap on 抽奖: for the session's fan only (no openid parameter exists); commits itself."""
    return await participation.draw_for_fan(_lottery(request), code=code, openid=fan.openid)
