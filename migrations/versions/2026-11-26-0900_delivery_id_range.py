"""delivery id range on the alert instead of the (alert_id, openid) unique index

A fan-out of 1,000,000 rows paid a second B-tree insert per row for `uq_delivery_alert_id_openid`
(about a fifth of its time, docs/alerts-ingest.md "Fan-out speed"). The alert now records the
range its deliveries' ids lie in (`first_delivery_id`, `last_delivery_id`): per-alert queries
scan that slice of the primary key, and a fan-out into an alert that already has deliveries
skips its fans by an anti-join over that slice, under the alert's row lock (`push.fanout`).

Revision ID: 0011_delivery_id_range
Revises: 0010_delivery_fanout_path
Create Date: 2026-11-26 09:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_delivery_id_range"
down_revision: str | None = "0010_delivery_fanout_path"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_delivery_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("last_delivery_id", sa.BigInteger(), nullable=True))
    alert = sa.table(
        "alert", sa.column("id"), sa.column("first_delivery_id"), sa.column("last_delivery_id")
    )
    delivery = sa.table("delivery", sa.column("id"), sa.column("alert_id"))
    for name, bound in (("first_delivery_id", sa.func.min), ("last_delivery_id", sa.func.max)):
        of_alert = sa.select(bound(delivery.c.id)).where(delivery.c.alert_id == alert.c.id)
        op.execute(sa.update(alert).values({name: of_alert.scalar_subquery()}))
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("uq_delivery_alert_id_openid", type_="unique")


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_delivery_alert_id_openid", ["alert_id", "openid"])
    with op.batch_alter_table("alert", schema=None) as batch_op:
        batch_op.drop_column("last_delivery_id")
        batch_op.drop_column("first_delivery_id")
