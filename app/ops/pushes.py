"""Push drafts: operator drafts a broadcast, a second person approves, it is sent or scheduled.

Sending goes through `alerts.service.broadcast` (the same fan-out as `POST /api/v1/broadcasts`)
with the Idempotency-Key `ops-draft-<id>`, so a draft can never fan out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.alerts import service as alerts_service
from app.alerts.schemas import BroadcastRequest
from app.core.config import Settings
from app.core.db import unit_of_work
from app.core.time import Clock
from app.ops.constants import SCHEDULER_BATCH, SCHEDULER_INTERVAL_S, DraftStatus, Role
from app.ops.errors import DraftNotFoundError, DraftStateError, InvalidDraftError, NotAllowedError
from app.ops.models import PushDraft
from app.ops.repository import DraftRepository
from app.ops.schemas import DraftCreate, DraftPreview, Principal, QuotaRead, TemplatePreview
from app.ops.service import CLI_PRINCIPAL, check_four_eyes, record_audit
from app.push import service as push_service

log = logging.getLogger(__name__)
MAX_SCHEDULE_AHEAD = timedelta(days=30)
SCHEDULER = Principal(ref="scheduler", name="push scheduler", role=Role.ADMIN, via="system")


def fan_out_config(settings: Settings) -> alerts_service.FanOutConfig:
    """The broadcast fan-out's settings (the same the broadcast API uses)."""
    return alerts_service.FanOutConfig(
        base_url=settings.base_url, template_ids=settings.alert_template_ids
    )


def _target_label(request: BroadcastRequest) -> str:
    target = request.target
    return f"segment:{target.segment}" if target.kind == "segment" else f"topic:{target.topic}"


def draft_snapshot(draft: PushDraft) -> dict[str, Any]:
    return {
        "status": draft.status,
        "title": draft.title,
        "target": draft.target_label,
        "scheduled_at": draft.scheduled_at,
        "alert_id": draft.alert_id,
    }


def broadcast_request(draft: PushDraft) -> BroadcastRequest:
    return BroadcastRequest.model_validate(draft.request)


async def create_draft(
    session: AsyncSession, *, actor: Principal, data: DraftCreate, now: datetime
) -> PushDraft:
    """Store a broadcast for approval (validated exactly as the broadcast API validates it)."""
    if data.scheduled_at is not None and not now < data.scheduled_at <= now + MAX_SCHEDULE_AHEAD:
        raise InvalidDraftError("scheduled_at must be in the future, at most 30 days ahead")
    request = BroadcastRequest.model_validate(data.model_dump(exclude={"scheduled_at"}))
    draft = PushDraft(
        status=DraftStatus.PENDING_APPROVAL.value,
        request=request.model_dump(mode="json", exclude_none=True),
        title=request.title[:128],
        target_label=_target_label(request)[:128],
        scheduled_at=data.scheduled_at,
        created_by=actor.ref,
        created_by_name=actor.name,
        created_at=now,
    )
    await DraftRepository(session).add(draft)
    await record_audit(
        session,
        actor=actor,
        action="push.draft.create",
        target_type="push_draft",
        target_id=draft.id,
        after={**draft_snapshot(draft), "request": draft.request},
        now=now,
    )
    return draft


async def get_draft(session: AsyncSession, draft_id: int) -> PushDraft:
    draft = await DraftRepository(session).get(draft_id)
    if draft is None:
        raise DraftNotFoundError(draft_id)
    return draft


async def list_drafts(
    session: AsyncSession, *, status: str | None = None, limit: int = 50
) -> list[PushDraft]:
    return await DraftRepository(session).list_recent(limit=limit, status=status)


async def preview_draft(
    session: AsyncSession,
    draft: PushDraft,
    *,
    now: datetime,
    config: alerts_service.FanOutConfig,
    quota: QuotaRead,
) -> DraftPreview:
    """The card as a fan sees it, who gets it if sent now, and the quota it uses."""
    preview = await alerts_service.preview_broadcast(
        session, request=broadcast_request(draft), now=now, config=config
    )
    return DraftPreview(
        template=TemplatePreview(
            template_id=preview.template_id,
            title=preview.title,
            lines=list(preview.lines),
            data=preview.data,
            url=preview.url,
        ),
        in_target=preview.in_target,
        recipients=preview.recipients,
        quota_cost=preview.recipients,  # one template send per recipient
        quota_remaining=quota.remaining,
        quota_source=quota.source,
        computed_at=now,
    )


async def progress(session: AsyncSession, draft: PushDraft) -> dict[str, int] | None:
    """Delivery counts by status once the draft was sent."""
    if draft.alert_id is None:
        return None
    status = await push_service.get_alert_status(session, draft.alert_id)
    return dict(status.counts)


async def _locked_draft(session: AsyncSession, draft_id: int) -> PushDraft:
    draft = await DraftRepository(session).get(draft_id, for_update=True)
    if draft is None:
        raise DraftNotFoundError(draft_id)
    return draft


async def approve_draft(
    session: AsyncSession,
    *,
    actor: Principal,
    draft_id: int,
    now: datetime,
    config: alerts_service.FanOutConfig,
    note: str | None = None,
) -> PushDraft:
    """Four-eyes: a second approver approves; sent at once unless scheduled for later."""
    draft = await _locked_draft(session, draft_id)
    if draft.status != DraftStatus.PENDING_APPROVAL:
        raise DraftStateError(f"draft {draft_id} is {draft.status}, not pending approval")
    check_four_eyes(author=draft.created_by, approver=actor)
    before = draft_snapshot(draft)
    draft.approved_by, draft.approved_by_name, draft.approved_at = actor.ref, actor.name, now
    draft.note = note or draft.note
    if draft.scheduled_at is not None and draft.scheduled_at > now:
        draft.status = DraftStatus.SCHEDULED.value
    else:
        await _send(session, draft, now=now, config=config)
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="push.draft.approve",
        target_type="push_draft",
        target_id=draft.id,
        before=before,
        after=draft_snapshot(draft),
        now=now,
    )
    return draft


async def _send(
    session: AsyncSession,
    draft: PushDraft,
    *,
    now: datetime,
    config: alerts_service.FanOutConfig,
) -> None:
    body = json.dumps(draft.request, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    outcome = await alerts_service.broadcast(
        session, body=body, key=f"ops-draft-{draft.id}", now=now, config=config
    )
    draft.status = DraftStatus.SENT.value
    draft.sent_at = now
    draft.alert_id = int(outcome.body["alert_id"])
    draft.recipients = int(outcome.body["recipients"])
    log.info(
        "ops.push.sent",
        extra={"draft_id": draft.id, "alert_id": draft.alert_id, "recipients": draft.recipients},
    )


async def close_draft(
    session: AsyncSession,
    *,
    actor: Principal,
    draft_id: int,
    reject: bool,
    now: datetime,
    note: str | None = None,
) -> PushDraft:
    """Reject (a second approver) or cancel (the author or an approver) before it is sent."""
    draft = await _locked_draft(session, draft_id)
    if reject and draft.status != DraftStatus.PENDING_APPROVAL:
        raise DraftStateError(f"draft {draft_id} is {draft.status}, not pending approval")
    if not reject and draft.status not in (DraftStatus.PENDING_APPROVAL, DraftStatus.SCHEDULED):
        raise DraftStateError(f"draft {draft_id} is {draft.status}; only unsent drafts cancel")
    if reject:
        check_four_eyes(author=draft.created_by, approver=actor)
    elif actor.ref != draft.created_by and actor.role not in (Role.APPROVER, Role.ADMIN):
        raise NotAllowedError("only the author or an approver can cancel a draft")
    before = draft_snapshot(draft)
    draft.status = (DraftStatus.REJECTED if reject else DraftStatus.CANCELLED).value
    draft.closed_by, draft.closed_at = actor.ref, now
    draft.note = note or draft.note
    await session.flush()
    await record_audit(
        session,
        actor=actor,
        action="push.draft.reject" if reject else "push.draft.cancel",
        target_type="push_draft",
        target_id=draft.id,
        before=before,
        after=draft_snapshot(draft),
        now=now,
    )
    return draft


async def run_scheduler_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    config: alerts_service.FanOutConfig,
) -> int:
    """Send approved drafts whose time came; SKIP LOCKED lets several workers run this."""
    async with unit_of_work(sessionmaker) as session:
        due = await DraftRepository(session).claim_due(now=now, limit=SCHEDULER_BATCH)
        for draft in due:
            before = draft_snapshot(draft)
            await _send(session, draft, now=now, config=config)
            await record_audit(
                session,
                actor=SCHEDULER,
                action="push.draft.send",
                target_type="push_draft",
                target_id=draft.id,
                before=before,
                after=draft_snapshot(draft),
                now=now,
            )
    return len(due)


async def scheduler_loop(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    config: alerts_service.FanOutConfig,
    stop_event: asyncio.Event,
    interval_s: float = SCHEDULER_INTERVAL_S,
) -> None:
    """Supervisor loop (worker process): check for due drafts every few seconds."""
    while not stop_event.is_set():
        await run_scheduler_once(sessionmaker, now=clock.now(), config=config)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop_event.wait(), interval_s)


__all__ = ["CLI_PRINCIPAL", "SCHEDULER", "create_draft", "run_scheduler_once"]
