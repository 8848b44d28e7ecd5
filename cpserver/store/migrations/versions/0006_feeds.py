"""Feeds from source systems: sources, batches, source record ids, field provenance, the
possible-match queue, practitioners' reports of a wrong record, and searchable former names.

Revision ID: 0006_feeds
Revises: 0005_notices
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from cpserver.store import types as cptypes


revision: str = '0006_feeds'
down_revision: str | None = '0005_notices'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("education_settings", "gp_practices"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("code", sa.String(length=20), nullable=True))
            batch_op.create_unique_constraint(op.f(f"uq_{table}_code"), ["code"])
    op.create_table('feed_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', cptypes.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['local_authority_id'], ['local_authorities.id'], name=op.f('fk_feed_sources_local_authority_id_local_authorities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_sources')),
    sa.UniqueConstraint('name', name=op.f('uq_feed_sources_name')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_feed_sources_token_hash'))
    )
    op.create_table('feed_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=10), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('received_at', cptypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', cptypes.UtcDateTime(timezone=True), nullable=True),
    sa.Column('rows_read', sa.Integer(), nullable=False),
    sa.Column('rows_updated', sa.Integer(), nullable=False),
    sa.Column('rows_unchanged', sa.Integer(), nullable=False),
    sa.Column('rows_created', sa.Integer(), nullable=False),
    sa.Column('rows_held', sa.Integer(), nullable=False),
    sa.Column('rows_rejected', sa.Integer(), nullable=False),
    sa.Column('rejections', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['source_id'], ['feed_sources.id'], name=op.f('fk_feed_batches_source_id_feed_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_batches'))
    )
    with op.batch_alter_table('feed_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_batches_source_id'), ['source_id'], unique=False)

    op.create_table('field_provenance',
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=40), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('set_at', cptypes.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['feed_batches.id'], name=op.f('fk_field_provenance_batch_id_feed_batches')),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_field_provenance_child_id_children')),
    sa.ForeignKeyConstraint(['source_id'], ['feed_sources.id'], name=op.f('fk_field_provenance_source_id_feed_sources')),
    sa.PrimaryKeyConstraint('child_id', 'field', name=op.f('pk_field_provenance'))
    )
    op.create_table('former_names',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('family_norm', sa.String(length=100), nullable=False),
    sa.Column('family_key', sa.String(length=8), nullable=False),
    sa.Column('given_norm', sa.String(length=100), nullable=False),
    sa.Column('closed_for_adoption', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_former_names_child_id_children')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_former_names'))
    )
    with op.batch_alter_table('former_names', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_former_names_child_id'), ['child_id'], unique=False)
        batch_op.create_index('ix_former_names_family_key', ['family_key'], unique=False)
        batch_op.create_index('ix_former_names_family_norm', ['family_norm'], unique=False)

    op.create_table('match_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('source_record_id', sa.String(length=64), nullable=False),
    sa.Column('incoming', sa.JSON(), nullable=False),
    sa.Column('candidate_child_id', sa.Integer(), nullable=True),
    sa.Column('match_probability', sa.Float(), nullable=False),
    sa.Column('held_because', sa.String(length=30), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', cptypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_user_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', cptypes.UtcDateTime(timezone=True), nullable=True),
    sa.Column('result_child_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['feed_batches.id'], name=op.f('fk_match_reviews_batch_id_feed_batches')),
    sa.ForeignKeyConstraint(['candidate_child_id'], ['children.id'], name=op.f('fk_match_reviews_candidate_child_id_children')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_match_reviews_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['local_authority_id'], ['local_authorities.id'], name=op.f('fk_match_reviews_local_authority_id_local_authorities')),
    sa.ForeignKeyConstraint(['result_child_id'], ['children.id'], name=op.f('fk_match_reviews_result_child_id_children')),
    sa.ForeignKeyConstraint(['source_id'], ['feed_sources.id'], name=op.f('fk_match_reviews_source_id_feed_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_match_reviews'))
    )
    with op.batch_alter_table('match_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_reviews_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_reviews_local_authority_id'), ['local_authority_id'], unique=False)

    op.create_table('record_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('reporter_user_id', sa.Integer(), nullable=False),
    sa.Column('problem', sa.String(length=40), nullable=False),
    sa.Column('local_authority_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('created_at', cptypes.UtcDateTime(timezone=True), nullable=False),
    sa.Column('resolved_by_user_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', cptypes.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_record_reports_child_id_children')),
    sa.ForeignKeyConstraint(['local_authority_id'], ['local_authorities.id'], name=op.f('fk_record_reports_local_authority_id_local_authorities')),
    sa.ForeignKeyConstraint(['reporter_user_id'], ['users.id'], name=op.f('fk_record_reports_reporter_user_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['users.id'], name=op.f('fk_record_reports_resolved_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_reports'))
    )
    with op.batch_alter_table('record_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_record_reports_child_id'), ['child_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_reports_local_authority_id'), ['local_authority_id'], unique=False)

    op.create_table('source_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=False),
    sa.Column('source_record_id', sa.String(length=64), nullable=False),
    sa.Column('child_id', sa.Integer(), nullable=False),
    sa.Column('row_digest', sa.String(length=64), nullable=False),
    sa.Column('last_batch_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['child_id'], ['children.id'], name=op.f('fk_source_records_child_id_children')),
    sa.ForeignKeyConstraint(['last_batch_id'], ['feed_batches.id'], name=op.f('fk_source_records_last_batch_id_feed_batches')),
    sa.ForeignKeyConstraint(['source_id'], ['feed_sources.id'], name=op.f('fk_source_records_source_id_feed_sources')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_records'))
    )
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_records_child_id'), ['child_id'], unique=False)
        batch_op.create_index('uq_source_records_source_record', ['source_id', 'source_record_id'], unique=True)



def downgrade() -> None:
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.drop_index('uq_source_records_source_record')
        batch_op.drop_index(batch_op.f('ix_source_records_child_id'))

    op.drop_table('source_records')
    with op.batch_alter_table('record_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_reports_local_authority_id'))
        batch_op.drop_index(batch_op.f('ix_record_reports_child_id'))

    op.drop_table('record_reports')
    with op.batch_alter_table('match_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_reviews_local_authority_id'))
        batch_op.drop_index(batch_op.f('ix_match_reviews_batch_id'))

    op.drop_table('match_reviews')
    with op.batch_alter_table('former_names', schema=None) as batch_op:
        batch_op.drop_index('ix_former_names_family_norm')
        batch_op.drop_index('ix_former_names_family_key')
        batch_op.drop_index(batch_op.f('ix_former_names_child_id'))

    op.drop_table('former_names')
    op.drop_table('field_provenance')
    with op.batch_alter_table('feed_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_batches_source_id'))

    op.drop_table('feed_batches')
    op.drop_table('feed_sources')
    for table in ("gp_practices", "education_settings"):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(op.f(f"uq_{table}_code"), type_="unique")
            batch_op.drop_column("code")
