"""segment feed cursor: the worker follows inbound_event for segments (off the API processes)

Revision ID: 0009_segment_feed_cursor
Revises: 0008_push_relay_cursor
Create Date: 2026-11-25 15:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_segment_feed_cursor"
down_revision: str | None = "0008_push_relay_cursor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segment_feed_cursor",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_feed_cursor")),
    )


def downgrade() -> None:
    op.drop_table("segment_feed_cursor")
