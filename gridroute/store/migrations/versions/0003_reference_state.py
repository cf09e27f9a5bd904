"""reference_state: a revision bumped by every store of the reference tables

Other processes compare it with the revision their cached reference data came from and reload
when it moved (a standalone scheduler, the other instances of a PostgreSQL deployment).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reference_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reference_state'))
    )


def downgrade() -> None:
    op.drop_table('reference_state')
