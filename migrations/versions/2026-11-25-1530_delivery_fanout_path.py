"""delivery fan-out path: the alert holds the rendered template once (delivery.template_id,
data NULL = the alert's), no delivery → alert foreign key, and the msgid and status indexes
leave out the rows a fan-out inserts (msgid NULL; fresh pending rows, found by id range)

Measured on 1,000,000 rows (docs/alerts-ingest.md "Fan-out speed"): the per-row FK check,
the two index inserts and the JSON copy per row were most of the fan-out's time.

Revision ID: 0010_delivery_fanout_path
Revises: 0009_segment_feed_cursor
Create Date: 2026-11-25 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_delivery_fanout_path"
down_revision: str | None = "0009_segment_feed_cursor"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOT_FRESH = "status <> 'pending' OR queued_at IS NOT NULL OR next_attempt_at IS NOT NULL"
MSGID_SET = "msgid IS NOT NULL"


def _partial(where: str) -> dict[str, sa.TextClause]:
    return {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template_id", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("data", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("url", sa.String(length=1024), nullable=True))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_alert_id_alert", type_="foreignkey")
        batch_op.alter_column("template_id", existing_type=sa.String(length=128), nullable=True)
        batch_op.alter_column("data", existing_type=sa.JSON(), nullable=True)
        batch_op.drop_index("ix_delivery_msgid")
        batch_op.drop_index("ix_delivery_status_next_attempt_at")
        batch_op.create_index("ix_delivery_msgid", ["msgid"], **_partial(MSGID_SET))
        batch_op.create_index(
            "ix_delivery_status_next_attempt_at",
            ["status", "next_attempt_at"],
            **_partial(NOT_FRESH),
        )


def downgrade() -> None:
    # Rows that took the alert's template get their own copy back (the old NOT NULL shape).
    for name in ("template_id", "data", "url"):
        alert = sa.table("alert", sa.column("id"), sa.column(name))
        delivery = sa.table("delivery", sa.column("alert_id"), sa.column(name))
        shared = sa.select(alert.c[name]).where(alert.c.id == delivery.c.alert_id)
        op.execute(
            sa.update(delivery)
            .where(delivery.c[name].is_(None))
            .values({name: shared.scalar_subquery()})
        )
    op.execute("UPDATE delivery SET template_id = '' WHERE template_id IS NULL")
    op.execute("UPDATE delivery SET data = '{}' WHERE data IS NULL")
    op.execute("DELETE FROM delivery WHERE alert_id NOT IN (SELECT id FROM alert)")
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_index("ix_delivery_status_next_attempt_at")
        batch_op.drop_index("ix_delivery_msgid")
        batch_op.create_index(
            "ix_delivery_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_delivery_msgid", ["msgid"], unique=False)
        batch_op.alter_column("data", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("template_id", existing_type=sa.String(length=128), nullable=False)
        batch_op.create_foreign_key(
            "fk_delivery_alert_id_alert", "alert", ["alert_id"], ["id"], ondelete="CASCADE"
        )
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("url")
        batch_op.drop_column("data")
        batch_op.drop_column("template_id")
