"""retired categories and standards rows; the note of a standards row's limit cell

`import standards` and `init --reset-reference` retire what a new catalogue no longer lists
instead of deleting it: cases filed under a row still name it, and its id is never given to
another row. `limit_note` keeps the text a catalogue writes after the limit ("1紧急工作时制止").

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('standards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('limit_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('standards', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
        batch_op.drop_column('limit_note')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_column('retired_at')
