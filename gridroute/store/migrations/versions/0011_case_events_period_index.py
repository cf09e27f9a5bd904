"""indexes for the indicator period query

Indicators select the cases of a period from history alone: the `report`, `file` and
`self_handle` events whose time falls in it (ix_case_events_action_at: action, time, case),
then read those cases' events (ix_case_events_history: case, seq and every column the
indicators read), both from the index without visiting event rows.

Revision ID: 0011
Revises: 0009
"""
from alembic import op


revision = '0011'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_action_at', ['action', 'at', 'case_id'],
                              unique=False)
        batch_op.create_index('ix_case_events_history',
                              ['case_id', 'seq', 'action', 'at', 'to_state', 'unit_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_history')
        batch_op.drop_index('ix_case_events_action_at')
