"""Request and response shapes of the ops API, and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from app.alerts.schemas import BroadcastRequest
from app.ops.constants import USERNAME_PATTERN, Role
from app.push.schemas import DeadLetterRead


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a staff member through a session cookie, or an API key."""

    ref: str  # "staff:3" or "api_key:2": what drafts and the audit log record
    name: str
    role: Role
    via: str  # "session" | "api_key" | "cli"
    staff_id: int | None = None
    csrf_token: str | None = None
    ip: str | None = None


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Username = Annotated[str, Field(pattern=USERNAME_PATTERN)]


class LoginRequest(Strict):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class LoginCsrfRead(BaseModel):
    csrf_token: str


class MeRead(BaseModel):
    ref: str
    name: str
    role: Role
    via: str
    staff_id: int | None
    csrf_token: str | None


class PasswordChange(Strict):
    current_password: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: Annotated[str, Field(min_length=1, max_length=256)]


class StaffCreate(Strict):
    username: Username
    display_name: Annotated[str, Field(min_length=1, max_length=128)]
    password: Annotated[str, Field(min_length=1, max_length=256)]
    role: Role


class StaffUpdate(Strict):
    display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    role: Role | None = None
    is_active: bool | None = None
    password: Annotated[str, Field(min_length=1, max_length=256)] | None = None


class StaffRead(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    is_active: bool
    created_at: datetime | None
    last_login_at: datetime | None


class ApiKeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    role: Role


class ApiKeyRead(BaseModel):
    id: int
    public_id: str
    name: str
    role: Role
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str  # shown once


class AuditEntryRead(BaseModel):
    seq: int
    at: datetime
    actor: str
    actor_name: str
    action: str
    target_type: str
    target_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    ip: str | None
    hash: str


class AuditVerifyRead(BaseModel):
    ok: bool
    rows: int
    first_bad_seq: int | None
    reason: str | None


# ---- pushes ----


class DraftCreate(BroadcastRequest):
    """The broadcast to send (alerts' BroadcastRequest) plus when to send it."""

    scheduled_at: AwareDatetime | None = None


class TemplatePreview(BaseModel):
    template_id: str
    title: str
    lines: list[str]
    data: dict[str, str]
    url: str


class DraftPreview(BaseModel):
    template: TemplatePreview
    in_target: int
    recipients: int  # after preferences and quiet hours, if sent now
    quota_cost: int  # template sends it would use from the daily quota
    quota_remaining: int | None
    quota_source: str
    computed_at: datetime


class DraftRead(BaseModel):
    id: int
    status: str
    title: str
    target_label: str
    request: dict[str, Any]
    scheduled_at: datetime | None
    created_by: str
    created_by_name: str
    created_at: datetime
    approved_by: str | None
    approved_by_name: str | None
    approved_at: datetime | None
    closed_by: str | None
    closed_at: datetime | None
    sent_at: datetime | None
    alert_id: int | None
    recipients: int | None
    note: str | None
    needs_approval: bool = True


class DraftDetail(DraftRead):
    preview: DraftPreview | None
    progress: dict[str, int] | None


class DraftDecision(Strict):
    note: Annotated[str, Field(max_length=500)] | None = None


class RedriveRead(BaseModel):
    redriven: int


class DeadLettersRead(BaseModel):
    dead_letters: int  # dead-lettered template sends (PostgreSQL, the truth)
    items: list[DeadLetterRead]  # the most recently failed first, openids masked
    redis_list: int | None  # entries on the worker's Redis list (incl. CS); None: Redis down


# ---- approval requests (menu publish) ----


class MenuPublishCreate(Strict):
    menu_version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    note: Annotated[str, Field(max_length=500)] | None = None


class ApprovalRequestRead(BaseModel):
    id: int
    kind: str
    status: str
    subject: dict[str, Any]
    created_by: str
    created_by_name: str
    created_at: datetime
    decided_by: str | None
    decided_by_name: str | None
    decided_at: datetime | None
    result: dict[str, Any] | None


# ---- dashboard and fans ----


class CountRow(BaseModel):
    label: str
    status: str | None = None
    count: int


class QuotaRead(BaseModel):
    daily_limit: int
    used: int
    remaining: int
    source: str  # "wechat" (getApiQuota) or "estimate" (our own sends today)
    as_of: datetime | None = None  # when WeChat reported the figure (cached up to 60 s)


class QueueRead(BaseModel):
    lanes: dict[str, int]  # stream entries not yet acknowledged, per lane
    waiting: int  # deliveries due but not sent
    lag_seconds: float | None  # age of the oldest waiting delivery
    dead_letters: int


class DayFollows(BaseModel):
    day: str
    follows: int
    unfollows: int


class DashboardRead(BaseModel):
    generated_at: datetime
    sends_today: list[CountRow]
    failure_codes: list[CountRow]
    quota: QuotaRead
    queue: QueueRead
    follows: list[DayFollows]
    subscribed_fans: int
    bound_fans: int
    open_drafts: int


class FanSummary(BaseModel):
    id: int
    openid_masked: str
    is_subscribed: bool
    last_subscribed_at: datetime | None
    last_seen_at: datetime | None


class FanDetail(FanSummary):
    first_subscribed_at: datetime | None
    unsubscribed_at: datetime | None
    subscribe_scene: str | None
    bindings: list[dict[str, Any]]
    preferences: dict[str, Any]
    watchlist: list[dict[str, Any]]
    deliveries: list[dict[str, Any]]
