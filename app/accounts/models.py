"""Tables of the binding feature: active and past bindings, and the audit of every attempt."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, BigIntPk, UtcDateTime

ACTIVE = text("unbound_at IS NULL")


class AccountBinding(Base):
    """A fan's binding to one brokerage account. Only the masked number and the counter's
    references are kept; `unbound_at` set means history (kept for audit), not deleted."""

    __tablename__ = "account_binding"
    __table_args__ = (
        # One active binding per fan and account; history rows may repeat.
        Index(
            "uq_account_binding_active",
            "openid",
            "account_id",
            unique=True,
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        ),
        Index(
            "ix_account_binding_client_active",
            "client_id",
            postgresql_where=ACTIVE,
            sqlite_where=ACTIVE,
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(String(64))  # the counter's person reference
    account_id: Mapped[str] = mapped_column(String(64))  # the counter's account reference
    account_no_masked: Mapped[str] = mapped_column(String(16))
    account_type: Mapped[str] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    consent_version: Mapped[str] = mapped_column(String(32))
    consented_at: Mapped[datetime] = mapped_column(UtcDateTime)
    bound_at: Mapped[datetime] = mapped_column(UtcDateTime)
    unbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    unbind_reason: Mapped[str | None] = mapped_column(String(32))


class BindingAttempt(Base):
    """Audit row for every SMS request and every verification, successful or not."""

    __tablename__ = "binding_attempt"
    __table_args__ = (Index("ix_binding_attempt_openid_at", "openid", "at"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    openid: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(16))
    account_no_masked: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
