"""content and campaigns: articles, menu versions, staff, channels, touches, links, persons,
conversion events; keyword_reply.article_id

Revision ID: 0005_content_campaigns
Revises: 0006_ops
Create Date: 2026-11-25 14:40:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = '0005_content_campaigns'
down_revision: str | None = '0006_ops'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('article',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=64), nullable=False),
    sa.Column('digest', sa.String(length=120), nullable=False),
    sa.Column('cover_url', sa.String(length=1024), nullable=False),
    sa.Column('link_url', sa.String(length=1024), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('published_at', app.core.db.UtcDateTime(), nullable=False),
    sa.Column('created_at', app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False),
    sa.Column('updated_at', app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article'))
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index('ix_article_active_published_at', ['is_active', 'published_at'], unique=False)

    op.create_table('menu_version',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.core.db.UtcDateTime(), nullable=False),
    sa.Column('published_at', app.core.db.UtcDateTime(), nullable=True),
    sa.Column('published_by', sa.String(length=64), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'published', 'superseded')", name=op.f('ck_menu_version_status')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_version')),
    sa.UniqueConstraint('version', name=op.f('uq_menu_version_version'))
    )
    with op.batch_alter_table('menu_version', schema=None) as batch_op:
        batch_op.create_index('uq_menu_version_published', ['status'], unique=True, postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))

    op.create_table('staff_member',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('staff_no', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('branch', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('registered_at', app.core.db.UtcDateTime(), nullable=False),
    sa.Column('deactivated_at', app.core.db.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_member')),
    sa.UniqueConstraint('staff_no', name=op.f('uq_staff_member_staff_no'))
    )
    op.create_table('channel',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=48), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('staff_member_id', BIGINT_PK, nullable=True),
    sa.Column('scene_str', sa.String(length=64), nullable=True),
    sa.Column('qr_ticket', sa.String(length=255), nullable=True),
    sa.Column('qr_url', sa.String(length=255), nullable=True),
    sa.Column('qr_permanent', sa.Boolean(), nullable=True),
    sa.Column('qr_expires_at', app.core.db.UtcDateTime(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.core.db.UtcDateTime(), nullable=False),
    sa.CheckConstraint("(kind = 'staff') = (staff_member_id IS NOT NULL)", name=op.f('ck_channel_staff_needs_member')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_member.id'], name=op.f('fk_channel_staff_member_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel')),
    sa.UniqueConstraint('code', name=op.f('uq_channel_code')),
    sa.UniqueConstraint('scene_str', name=op.f('uq_channel_scene_str'))
    )
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_channel_staff_member_id'), ['staff_member_id'], unique=False)

    op.create_table('menu_publication',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('menu_version_id', BIGINT_PK, nullable=False),
    sa.Column('published_by', sa.String(length=64), nullable=False),
    sa.Column('published_at', app.core.db.UtcDateTime(), nullable=False),
    sa.Column('wechat_menu_ids', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['menu_version_id'], ['menu_version.id'], name=op.f('fk_menu_publication_menu_version_id_menu_version')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_menu_publication'))
    )
    with op.batch_alter_table('menu_publication', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_menu_publication_menu_version_id'), ['menu_version_id'], unique=False)

    op.create_table('channel_touch',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('channel_id', BIGINT_PK, nullable=False),
    sa.Column('staff_member_id', BIGINT_PK, nullable=True),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('occurred_at', app.core.db.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_channel_touch_channel_id_channel')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_member.id'], name=op.f('fk_channel_touch_staff_member_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_channel_touch'))
    )
    with op.batch_alter_table('channel_touch', schema=None) as batch_op:
        batch_op.create_index('ix_channel_touch_channel_id_occurred_at', ['channel_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_channel_touch_openid_occurred_at', ['openid', 'occurred_at'], unique=False)
        batch_op.create_index('ix_channel_touch_staff_member_id_occurred_at', ['staff_member_id', 'occurred_at'], unique=False)

    op.create_table('person',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=True),
    sa.Column('unionid', sa.String(length=64), nullable=True),
    sa.Column('phone_hash', sa.String(length=64), nullable=True),
    sa.Column('account_ref', sa.String(length=64), nullable=True),
    sa.Column('first_channel_id', BIGINT_PK, nullable=True),
    sa.Column('first_touch_at', app.core.db.UtcDateTime(), nullable=True),
    sa.Column('last_channel_id', BIGINT_PK, nullable=True),
    sa.Column('last_touch_at', app.core.db.UtcDateTime(), nullable=True),
    sa.Column('created_at', app.core.db.UtcDateTime(), server_default=sa.func.now(), nullable=False),
    sa.ForeignKeyConstraint(['first_channel_id'], ['channel.id'], name=op.f('fk_person_first_channel_id_channel')),
    sa.ForeignKeyConstraint(['last_channel_id'], ['channel.id'], name=op.f('fk_person_last_channel_id_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('account_ref', name=op.f('uq_person_account_ref')),
    sa.UniqueConstraint('openid', name=op.f('uq_person_openid')),
    sa.UniqueConstraint('phone_hash', name=op.f('uq_person_phone_hash')),
    sa.UniqueConstraint('unionid', name=op.f('uq_person_unionid'))
    )
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_first_channel_id'), ['first_channel_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_person_last_channel_id'), ['last_channel_id'], unique=False)

    op.create_table('tracked_link',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=24), nullable=False),
    sa.Column('channel_id', BIGINT_PK, nullable=False),
    sa.Column('target', sa.String(length=24), nullable=False),
    sa.Column('target_url', sa.String(length=1024), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.db.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_tracked_link_channel_id_channel')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tracked_link')),
    sa.UniqueConstraint('code', name=op.f('uq_tracked_link_code'))
    )
    with op.batch_alter_table('tracked_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tracked_link_channel_id'), ['channel_id'], unique=False)

    op.create_table('conversion_event',
    sa.Column('id', BIGINT_PK, autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=96), nullable=False),
    sa.Column('person_id', BIGINT_PK, nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('occurred_at', app.core.db.UtcDateTime(), nullable=False),
    sa.Column('channel_id', BIGINT_PK, nullable=True),
    sa.Column('received_at', app.core.db.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['channel_id'], ['channel.id'], name=op.f('fk_conversion_event_channel_id_channel')),
    sa.ForeignKeyConstraint(['person_id'], ['person.id'], name=op.f('fk_conversion_event_person_id_person')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversion_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_conversion_event_event_id'))
    )
    with op.batch_alter_table('conversion_event', schema=None) as batch_op:
        batch_op.create_index('ix_conversion_event_kind_occurred_at', ['kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_conversion_event_person_id_kind', ['person_id', 'kind', 'occurred_at'], unique=False)

    with op.batch_alter_table('keyword_reply', schema=None) as batch_op:
        batch_op.add_column(sa.Column('article_id', BIGINT_PK, nullable=True))
        batch_op.create_index(batch_op.f('ix_keyword_reply_article_id'), ['article_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_keyword_reply_article_id_article'), 'article', ['article_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('keyword_reply', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_keyword_reply_article_id_article'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_keyword_reply_article_id'))
        batch_op.drop_column('article_id')

    with op.batch_alter_table('conversion_event', schema=None) as batch_op:
        batch_op.drop_index('ix_conversion_event_person_id_kind')
        batch_op.drop_index('ix_conversion_event_kind_occurred_at')

    op.drop_table('conversion_event')
    with op.batch_alter_table('tracked_link', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracked_link_channel_id'))

    op.drop_table('tracked_link')
    with op.batch_alter_table('person', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_last_channel_id'))
        batch_op.drop_index(batch_op.f('ix_person_first_channel_id'))

    op.drop_table('person')
    with op.batch_alter_table('channel_touch', schema=None) as batch_op:
        batch_op.drop_index('ix_channel_touch_staff_member_id_occurred_at')
        batch_op.drop_index('ix_channel_touch_openid_occurred_at')
        batch_op.drop_index('ix_channel_touch_channel_id_occurred_at')

    op.drop_table('channel_touch')
    with op.batch_alter_table('menu_publication', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_menu_publication_menu_version_id'))

    op.drop_table('menu_publication')
    with op.batch_alter_table('channel', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_channel_staff_member_id'))

    op.drop_table('channel')
    op.drop_table('staff_member')
    with op.batch_alter_table('menu_version', schema=None) as batch_op:
        batch_op.drop_index('uq_menu_version_published', postgresql_where=sa.text("status = 'published'"), sqlite_where=sa.text("status = 'published'"))

    op.drop_table('menu_version')
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index('ix_article_active_published_at')

    op.drop_table('article')
