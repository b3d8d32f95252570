"""users.session_generation: sign-out, deactivation and a new password end sessions

Revision ID: 0004_session_generation
Revises: 0001
Create Date: 2026-11-26 11:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_session_generation'
down_revision = '0005_directory_duties'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing accounts start at generation 0. Sessions signed before this revision carry
    # no generation at all, so everyone signs in once more after the upgrade.
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_generation', sa.Integer(), nullable=False,
                                   server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_generation')
