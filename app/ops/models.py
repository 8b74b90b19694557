"""Tables of the ops feature: staff users, API keys, the audit chain, push drafts, approvals."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, JsonType, UtcDateTime

ROLES_SQL = "'viewer', 'operator', 'approver', 'admin'"


class StaffUser(Base):
    __tablename__ = "staff_user"
    __table_args__ = (CheckConstraint(f"role IN ({ROLES_SQL})", name="role"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, PHC string
    role: Mapped[str] = mapped_column(String(16))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    password_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiKey(Base):
    """Machine access: `wxbk_<public_id>_<secret>`; only a SHA-256 of the secret is stored."""

    __tablename__ = "api_key"
    __table_args__ = (CheckConstraint(f"role IN ({ROLES_SQL})", name="role"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditLog(Base):
    """Append-only: no code path updates or deletes; database triggers refuse both.

    `hash` = SHA-256 over the canonical JSON of every other column plus `prev_hash`, so
    changing, removing or reordering a row breaks the chain (`wxbroker audit verify`).
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigIntPk, unique=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(80))  # "staff:3", "api_key:2", "cli"
    actor_name: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JsonType)
    ip: Mapped[str | None] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """One row: the chain's last seq and hash. Appenders lock it, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigIntPk)
    hash: Mapped[str] = mapped_column(String(64))


class PushDraft(Base):
    """An ops broadcast waiting for a second person's approval, then sent or scheduled."""

    __tablename__ = "push_draft"
    __table_args__ = (Index("ix_push_draft_status_scheduled_at", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(24))
    # The body of `POST /api/v1/broadcasts` (alerts.schemas.BroadcastRequest) as JSON.
    request: Mapped[dict[str, Any]] = mapped_column(JsonType)
    title: Mapped[str] = mapped_column(String(128))
    target_label: Mapped[str] = mapped_column(String(128))
    scheduled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(80))
    created_by_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(80))
    approved_by_name: Mapped[str | None] = mapped_column(String(128))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    closed_by: Mapped[str | None] = mapped_column(String(80))  # who rejected or cancelled
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    alert_id: Mapped[int | None] = mapped_column(BigIntPk)
    recipients: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


class ApprovalRequest(Base):
    """A four-eyes change other than a push (a menu publish): authored, then approved."""

    __tablename__ = "approval_request"
    __table_args__ = (Index("ix_approval_request_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(24))
    subject: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_by: Mapped[str] = mapped_column(String(80))
    created_by_name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_by_name: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType)


__all__ = [
    "ApiKey",
    "ApprovalRequest",
    "AuditHead",
    "AuditLog",
    "PushDraft",
    "StaffUser",
]
