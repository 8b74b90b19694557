"""webhook core: fan, inbound_event, keyword_reply

Revision ID: 0001_webhook_core
Revises:
Create Date: 2026-11-25 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0001_webhook_core"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "fan",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("unionid", sa.String(length=64), nullable=True),
        sa.Column("is_subscribed", sa.Boolean(), nullable=False),
        sa.Column("first_subscribed_at", app.core.db.UtcDateTime(), nullable=True),
        sa.Column("last_subscribed_at", app.core.db.UtcDateTime(), nullable=True),
        sa.Column("unsubscribed_at", app.core.db.UtcDateTime(), nullable=True),
        sa.Column("subscribe_scene", sa.String(length=128), nullable=True),
        sa.Column("subscribe_count", sa.Integer(), nullable=False),
        sa.Column("last_seen_at", app.core.db.UtcDateTime(), nullable=True),
        sa.Column(
            "created_at",
            app.core.db.UtcDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            app.core.db.UtcDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fan")),
        sa.UniqueConstraint("openid", name=op.f("uq_fan_openid")),
    )
    op.create_table(
        "inbound_event",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("msg_type", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=True),
        sa.Column("event_key", sa.String(length=255), nullable=True),
        sa.Column("scene", sa.String(length=128), nullable=True),
        sa.Column("msg_id", sa.String(length=64), nullable=True),
        sa.Column("wechat_created_at", app.core.db.UtcDateTime(), nullable=False),
        sa.Column("received_at", app.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_event")),
    )
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_event_msg_type_event_received_at",
            ["msg_type", "event", "received_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_inbound_event_openid_received_at", ["openid", "received_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_inbound_event_received_at"), ["received_at"], unique=False
        )
    op.create_table(
        "keyword_reply",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("keyword", sa.String(length=255), nullable=False),
        sa.Column("match_type", sa.String(length=16), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at",
            app.core.db.UtcDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            app.core.db.UtcDateTime(),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.CheckConstraint(
            "match_type IN ('exact', 'regex')", name=op.f("ck_keyword_reply_match_type")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_keyword_reply")),
    )
    with op.batch_alter_table("keyword_reply", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_keyword_reply_is_active"), ["is_active"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("keyword_reply", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_keyword_reply_is_active"))
    op.drop_table("keyword_reply")
    with op.batch_alter_table("inbound_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_event_received_at"))
        batch_op.drop_index("ix_inbound_event_openid_received_at")
        batch_op.drop_index("ix_inbound_event_msg_type_event_received_at")
    op.drop_table("inbound_event")
    op.drop_table("fan")
