"""accounts: account_binding, binding_attempt

Revision ID: 0004_accounts
Revises: 0003_alerts
Create Date: 2026-11-25 14:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0004_accounts"
down_revision: str | None = "0003_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ACTIVE = sa.text("unbound_at IS NULL")


def upgrade() -> None:
    op.create_table(
        "account_binding",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("account_no_masked", sa.String(length=16), nullable=False),
        sa.Column("account_type", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("consented_at", app.core.db.UtcDateTime(), nullable=False),
        sa.Column("bound_at", app.core.db.UtcDateTime(), nullable=False),
        sa.Column("unbound_at", app.core.db.UtcDateTime(), nullable=True),
        sa.Column("unbind_reason", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_binding")),
    )
    op.create_index(
        op.f("ix_account_binding_openid"), "account_binding", ["openid"], unique=False
    )
    op.create_index(
        "uq_account_binding_active",
        "account_binding",
        ["openid", "account_id"],
        unique=True,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_index(
        "ix_account_binding_client_active",
        "account_binding",
        ["client_id"],
        unique=False,
        postgresql_where=ACTIVE,
        sqlite_where=ACTIVE,
    )
    op.create_table(
        "binding_attempt",
        sa.Column("id", BIGINT_PK, autoincrement=True, nullable=False),
        sa.Column("openid", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=16), nullable=False),
        sa.Column("account_no_masked", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=45), nullable=False),
        sa.Column("at", app.core.db.UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_binding_attempt")),
    )
    op.create_index(op.f("ix_binding_attempt_at"), "binding_attempt", ["at"], unique=False)
    op.create_index(
        "ix_binding_attempt_openid_at", "binding_attempt", ["openid", "at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_binding_attempt_openid_at", table_name="binding_attempt")
    op.drop_index(op.f("ix_binding_attempt_at"), table_name="binding_attempt")
    op.drop_table("binding_attempt")
    op.drop_index("ix_account_binding_client_active", table_name="account_binding")
    op.drop_index("uq_account_binding_active", table_name="account_binding")
    op.drop_index(op.f("ix_account_binding_openid"), table_name="account_binding")
    op.drop_table("account_binding")
