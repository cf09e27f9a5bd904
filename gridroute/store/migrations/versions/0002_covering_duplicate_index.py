"""covering index for the duplicate search

The intake's duplicate query filters on category, report time, x/y box and state. The old
index (category_code, state, reported_at) made SQLite visit every candidate's table row to test
x and y; the new one holds every column the query reads.

Revision ID: 0002
Revises: 0001
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_dup')
        batch_op.create_index('ix_cases_dup_window',
                              ['category_code', 'reported_at', 'x', 'y', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_dup_window')
        batch_op.create_index('ix_cases_dup', ['category_code', 'state', 'reported_at'],
                              unique=False)
