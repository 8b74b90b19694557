"""segments and campaigns: fan signals, segment changes (tag mirror outbox), staff openid,
campaigns, prizes, awards and their identity claims, draw decisions, the draw blacklist

Revision ID: 0007_segments_campaigns
Revises: 0005_content_campaigns
Create Date: 2026-11-25 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0007_segments_campaigns"
down_revision: str | None = "0005_content_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("code", sa.String(length=48), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("starts_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("eligibility", sa.JSON(), nullable=False),
        sa.Column("win_probability", sa.Numeric(precision=5, scale=4), nullable=False),
        sa.Column("person_draws_per_day", sa.Integer(), nullable=False),
        sa.Column("scene_draws_per_hour", sa.Integer(), nullable=False),
        sa.Column("payout_after", sa.String(length=24), nullable=True),
        sa.Column("payout_hold_hours", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
        sa.UniqueConstraint("code", name=op.f("uq_campaign_code")),
    )
    op.create_table(
        "draw_blacklist",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_blacklist")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_draw_blacklist_kind_value")),
    )
    op.create_table(
        "fan_signal",
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("is_subscribed", sa.Boolean(), nullable=False),
        sa.Column("followed_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("follow_scene", sa.String(length=128), nullable=True),
        sa.Column("last_active_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("last_engaged_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("risk_reason", sa.String(length=128), nullable=False),
        sa.Column("updated_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("openid", name=op.f("pk_fan_signal")),
    )
    with op.batch_alter_table("fan_signal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fan_signal_follow_scene_followed_at", ["follow_scene", "followed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_fan_signal_last_active_at"), ["last_active_at"], unique=False
        )

    op.create_table(
        "segment_change",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("segment", sa.String(length=64), nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("created_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("mirrored_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_change")),
    )
    with op.batch_alter_table("segment_change", schema=None) as batch_op:
        batch_op.create_index("ix_segment_change_pending", ["mirrored_at", "id"], unique=False)

    op.create_table(
        "campaign_prize",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("inventory", sa.Integer(), nullable=False),
        sa.Column("daily_limit", sa.Integer(), nullable=True),
        sa.Column("awarded", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "awarded >= 0 AND awarded <= inventory",
            name=op.f("ck_campaign_prize_awarded_within_inventory"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_prize_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_prize")),
        sa.UniqueConstraint("campaign_id", "code", name=op.f("uq_campaign_prize_campaign_id_code")),
    )
    op.create_table(
        "draw_decision",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("decision", sa.String(length=24), nullable=False),
        sa.Column("reason", sa.String(length=160), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("prize_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("decided_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_draw_decision_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draw_decision")),
    )
    with op.batch_alter_table("draw_decision", schema=None) as batch_op:
        batch_op.create_index(
            "ix_draw_decision_campaign_id_decided_at", ["campaign_id", "decided_at"], unique=False
        )
        batch_op.create_index("ix_draw_decision_openid", ["openid"], unique=False)

    op.create_table(
        "prize_award",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("prize_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("risk_score", sa.Integer(), nullable=False),
        sa.Column("won_at", app.core.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("payable_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("paid_at", app.core.db.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_prize_award_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["prize_id"], ["campaign_prize.id"], name=op.f("fk_prize_award_prize_id_campaign_prize")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prize_award")),
    )
    with op.batch_alter_table("prize_award", schema=None) as batch_op:
        batch_op.create_index(
            "ix_prize_award_campaign_id_status", ["campaign_id", "status"], unique=False
        )

    op.create_table(
        "award_claim",
        sa.Column(
            "campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.ForeignKeyConstraint(
            ["award_id"], ["prize_award.id"], name=op.f("fk_award_claim_award_id_prize_award")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_award_claim_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("campaign_id", "kind", "value", name=op.f("pk_award_claim")),
    )
    with op.batch_alter_table("award_claim", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_award_claim_award_id"), ["award_id"], unique=False)

    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.add_column(sa.Column("openid", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_staff_member_openid"), ["openid"])


def downgrade() -> None:
    with op.batch_alter_table("staff_member", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_staff_member_openid"), type_="unique")
        batch_op.drop_column("openid")

    with op.batch_alter_table("award_claim", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_award_claim_award_id"))

    op.drop_table("award_claim")
    with op.batch_alter_table("prize_award", schema=None) as batch_op:
        batch_op.drop_index("ix_prize_award_campaign_id_status")

    op.drop_table("prize_award")
    with op.batch_alter_table("draw_decision", schema=None) as batch_op:
        batch_op.drop_index("ix_draw_decision_openid")
        batch_op.drop_index("ix_draw_decision_campaign_id_decided_at")

    op.drop_table("draw_decision")
    op.drop_table("campaign_prize")
    with op.batch_alter_table("segment_change", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_change_pending")

    op.drop_table("segment_change")
    with op.batch_alter_table("fan_signal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fan_signal_last_active_at"))
        batch_op.drop_index("ix_fan_signal_follow_scene_followed_at")

    op.drop_table("fan_signal")
    op.drop_table("draw_blacklist")
    op.drop_table("campaign")
