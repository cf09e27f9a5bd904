"""stored indicator facts per case

The region and unit indicators read, per case, facts that stop changing after its last event
(reports/indicators.py case_facts). They are kept here, keyed by the case version and the
basis they were computed on, and a report groups them in SQL; a case whose version or basis
has moved on is replayed from its history and its row replaced. The table is a cache of the
history: emptying it loses nothing.

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_report_facts',
        sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('case_version', sa.Integer(), nullable=False),
        sa.Column('basis', sa.String(length=64), nullable=False),
        sa.Column('last_at', sa.Float(), nullable=False),
        sa.Column('report_at', sa.Float(), nullable=True),
        sa.Column('filed_at', sa.Float(), nullable=True),
        sa.Column('flags', sa.Integer(), nullable=False),
        sa.Column('unit_code', sa.String(length=64), nullable=True),
        sa.Column('work_hours', sa.Float(), nullable=False),
        sa.Column('late', sa.Boolean(), nullable=False),
        sa.Column('deadline', sa.Float(), nullable=True),
        sa.Column('exact', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
        sa.PrimaryKeyConstraint('case_id'),
    )


def downgrade() -> None:
    op.drop_table('case_report_facts')
