"""workflow as practised: verify/check tasks (inspector), unit-applied 挂账 requests,
自行处置 flag, and the unit on every history event

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('inspector', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('suspension_requested_until', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('self_handled', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_code', sa.String(length=64), nullable=True))
    # history written before this revision keeps no unit (NULL): it was never recorded


def downgrade() -> None:
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_column('unit_code')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('self_handled')
        batch_op.drop_column('suspension_requested_until')
        batch_op.drop_column('inspector')
