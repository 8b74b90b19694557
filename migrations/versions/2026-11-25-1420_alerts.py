"""alerts: fan_preference, watchlist_item, segment_member, ingest_request

Revision ID: 0003_alerts
Revises: 0002_push_core
Create Date: 2026-11-25 14:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0003_alerts"
down_revision: str | None = "0002_push_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
QUIET_HOURS_CHECK = (
    "(quiet_start_hour IS NULL AND quiet_end_hour IS NULL) OR "
    "(quiet_start_hour BETWEEN 0 AND 23 AND quiet_end_hour BETWEEN 0 AND 23 "
    "AND quiet_start_hour <> quiet_end_hour)"
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "fan_preference",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("trade", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("ipo", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("watchlist", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("financial", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("marketing", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("quiet_start_hour", sa.SmallInteger(), nullable=True),
        sa.Column("quiet_end_hour", sa.SmallInteger(), nullable=True),
        sa.Column(
            "updated_at", app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.CheckConstraint(QUIET_HOURS_CHECK, name=op.f("ck_fan_preference_quiet_hours")),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_fan_preference")),
    )
    op.create_table(
        "watchlist_item",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("security_code", sa.String(length=8), nullable=False),
        sa.Column("above_price", sa.Numeric(14, 4), nullable=True),
        sa.Column("below_price", sa.Numeric(14, 4), nullable=True),
        sa.Column("change_pct", sa.Numeric(8, 4), nullable=True),
        sa.Column("above_alert_id", sa.BigInteger(), nullable=True),
        sa.Column("below_alert_id", sa.BigInteger(), nullable=True),
        sa.Column("pct_alert_id", sa.BigInteger(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watchlist_item")),
        sa.UniqueConstraint(
            "openid", "security_code", name=op.f("uq_watchlist_item_openid_security_code")
        ),
    )
    with op.batch_alter_table("watchlist_item", schema=None) as batch_op:
        batch_op.create_index("ix_watchlist_item_security_code", ["security_code"], unique=False)
    op.create_table(
        "segment_member",
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("segment", "openid", name=op.f("pk_segment_member")),
    )
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.create_index("ix_segment_member_openid", ["openid"], unique=False)
    op.create_table(
        "ingest_request",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", app.core.db.UtcDateTime(), nullable=False),
        sa.Column("expires_at", app.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_ingest_request")),
    )
    with op.batch_alter_table("ingest_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ingest_request_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ingest_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ingest_request_expires_at"))
    op.drop_table("ingest_request")
    with op.batch_alter_table("segment_member", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_member_openid")
    op.drop_table("segment_member")
    with op.batch_alter_table("watchlist_item", schema=None) as batch_op:
        batch_op.drop_index("ix_watchlist_item_security_code")
    op.drop_table("watchlist_item")
    op.drop_table("fan_preference")
