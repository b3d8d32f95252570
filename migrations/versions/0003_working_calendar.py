"""working calendar: the bureau's holidays and adjusted workdays, one calendar with duty hours

The duty-hours "holidays" (closed duty_exceptions) become holiday entries of the working
calendar, so that a day the hotline treats as a holiday is also off for deadlines. Staffed
exceptions (an extra duty window on one date) stay where they are.

Revision ID: 0003_working_calendar
Revises: 0001
Create Date: 2026-11-26 11:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_working_calendar'
down_revision = '0002_case_history'
branch_labels = None
depends_on = None

MIGRATED_BY = "migration:0003"
DEFAULT_REASON = "值班时间表中的节假日"  # the duty-hours holiday had no note

duty_exceptions = sa.table(
    "duty_exceptions", sa.column("day", sa.Date), sa.column("staffed", sa.Boolean),
    sa.column("note", sa.String))


def upgrade() -> None:
    entries = op.create_table('calendar_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'workday', name='daykind', native_enum=False, length=10), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('entered_by', sa.String(length=80), nullable=False),
    sa.Column('entered_by_user_id', sa.Integer(), nullable=True),
    sa.Column('entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('day')
    )
    closed = duty_exceptions.c.staffed == sa.false()
    reason = sa.case((duty_exceptions.c.note == "", DEFAULT_REASON), else_=duty_exceptions.c.note)
    op.execute(entries.insert().from_select(
        ["day", "kind", "reason", "entered_by", "entered_at"],
        sa.select(duty_exceptions.c.day, sa.literal("holiday"), reason, sa.literal(MIGRATED_BY),
                  sa.func.current_timestamp()).where(closed)))
    op.execute(duty_exceptions.delete().where(closed))


def downgrade() -> None:
    entries = sa.table("calendar_entries", sa.column("day", sa.Date), sa.column("kind", sa.String),
                       sa.column("reason", sa.String))
    # Holidays go back to being closed duty days; adjusted workdays have no older home.
    op.execute(duty_exceptions.insert().from_select(
        ["day", "staffed", "note"],
        sa.select(entries.c.day, sa.false(), entries.c.reason)
        .where(entries.c.kind == "holiday", entries.c.day.not_in(sa.select(duty_exceptions.c.day)))))
    op.drop_table('calendar_entries')
