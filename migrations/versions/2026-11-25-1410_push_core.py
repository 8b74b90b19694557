"""push core: alert, delivery, delivery_event, cs_message

Revision ID: 0002_push_core
Revises: 0001_webhook_core
Create Date: 2026-11-25 14:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0002_push_core"
down_revision: str | None = "0001_webhook_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=64), nullable=True),
        sa.Column(
            "created_at",
            app.core.db.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("expires_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical', 'transactional', 'market', 'marketing')",
            name=op.f("ck_alert_severity"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_alert_idempotency_key")),
    )
    op.create_table(
        "cs_message",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            app.core.db.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("queued_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sending_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'sending', 'sent', 'failed')",
            name=op.f("ck_cs_message_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cs_message")),
    )
    with op.batch_alter_table("cs_message", schema=None) as batch_op:
        batch_op.create_index(
            "ix_cs_message_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "delivery",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("alert_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("template_id", sa.String(length=128), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("url", sa.String(length=1024), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column(
            "status", sa.String(length=16), server_default=sa.text("'pending'"), nullable=False
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("lease_until", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expires_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("msgid", sa.BigInteger(), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column(
            "created_at",
            app.core.db.UtcDateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("queued_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sending_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("failed_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("expired_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "severity IN ('critical', 'transactional', 'market', 'marketing')",
            name=op.f("ck_delivery_severity"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'queued', 'sending', 'sent', 'delivered', 'failed', 'expired')",
            name=op.f("ck_delivery_status"),
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alert.id"], name=op.f("fk_delivery_alert_id_alert"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery")),
        sa.UniqueConstraint("alert_id", "openid", name=op.f("uq_delivery_alert_id_openid")),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_delivery_msgid"), ["msgid"], unique=False)
        batch_op.create_index(
            "ix_delivery_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "delivery_event",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "delivery_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("from_status", sa.String(length=16), nullable=False),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=255), nullable=True),
        sa.Column("at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["delivery_id"],
            ["delivery.id"],
            name=op.f("fk_delivery_event_delivery_id_delivery"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_delivery_event")),
    )
    with op.batch_alter_table("delivery_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_delivery_event_delivery_id"), ["delivery_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_delivery_event_delivery_id"))

    op.drop_table("delivery_event")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_status_next_attempt_at")
        batch_op.drop_index(batch_op.f("ix_delivery_msgid"))

    op.drop_table("delivery")
    with op.batch_alter_table("cs_message", schema=None) as batch_op:
        batch_op.drop_index("ix_cs_message_status_next_attempt_at")

    op.drop_table("cs_message")
    op.drop_table("alert")
