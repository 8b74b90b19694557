"""push relay cursor: watermark + marks instead of a per-row pending→queued UPDATE, and an
INSERT guard (statement trigger taking a shared advisory lock) that lets the relay know when
every allocated delivery/cs_message id is committed

Revision ID: 0008_push_relay_cursor
Revises: 0007_segments_campaigns
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0008_push_relay_cursor"
down_revision: str | None = "0007_segments_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Must match app.push.constants.PRODUCER_LOCK_KEYS.
LOCK_KEYS = {"delivery": 7_260_001, "cs_message": 7_260_002}


def upgrade() -> None:
    op.create_table(
        "push_relay_cursor",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_push_relay_cursor")),
    )
    op.create_table(
        "push_relay_mark",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.Column("at", app.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_relay_mark")),
    )
    op.create_index("ix_push_relay_mark_kind_at", "push_relay_mark", ["kind", "at"])
    # No cursor row: the relay starts its cursor at 0 (rows already queued are not fresh and
    # keep their path; fresh rows are sent, at worst twice, which the atomic claim absorbs).
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, key in LOCK_KEYS.items():
        op.execute(
            f"""CREATE FUNCTION push_{table}_insert_guard() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN PERFORM pg_advisory_xact_lock_shared({key}); RETURN NULL; END $$"""
        )
        op.execute(
            f"CREATE TRIGGER push_{table}_insert_guard BEFORE INSERT ON {table}"
            f" FOR EACH STATEMENT EXECUTE FUNCTION push_{table}_insert_guard()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LOCK_KEYS:
            op.execute(f"DROP TRIGGER IF EXISTS push_{table}_insert_guard ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS push_{table}_insert_guard()")
    op.drop_index("ix_push_relay_mark_kind_at", table_name="push_relay_mark")
    op.drop_table("push_relay_mark")
    op.drop_table("push_relay_cursor")
