"""case version: a compare-and-set counter on cases, so that one of two racing actions wins

Every case action now claims its case with
`UPDATE cases SET version = version + 1 WHERE id = :id AND version = :seen`
(intake/rules/transitions.py). Existing cases start at version 1, through the column's server
default, which also keeps any writer that does not name the column valid.

Revision ID: 0009_case_version
Revises: 0007_api_tokens
Create Date: 2026-12-07 01:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_case_version'
down_revision = '0007_api_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1',
                                      nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('cases') as batch_op:
        batch_op.drop_column('version')
