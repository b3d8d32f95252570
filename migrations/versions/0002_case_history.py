"""case history as rows: unit assignments, deadline changes, supervision entries, inbound SMS

Revision ID: 0002_case_history
Revises: 0001

Existing rows are carried over: a case's unit_id/deadline_at/redo_count/criticism_flagged
become one unit assignment; its deadline (and deadline_reason) one deadline change; its
supervised flag one open supervision entry (escalation when the case sits at the bureau
meeting or the county, overdue otherwise); each unit result points at its assignment.
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_case_history'
down_revision = '0001'
branch_labels = None
depends_on = None

MIGRATION_ACTOR = 'migration:0002'


def upgrade() -> None:
    op.create_table('case_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('assigned_by', sa.String(length=80), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('criticism_flagged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_assignments_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_assignments_unit_id'), ['unit_id'], unique=False)

    op.create_table('deadline_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('same_day', 'transfer', 'redo', 'extension', name='deadlinekind', native_enum=False, length=20), nullable=False),
    sa.Column('old_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('new_deadline', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('changed_by', sa.String(length=80), nullable=False),
    sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['changed_by_user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('deadline_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_changes_case_id'), ['case_id'], unique=False)

    op.create_table('supervision_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('cause', sa.Enum('escalation_bureau', 'escalation_county', 'overdue', name='supervisioncause', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=80), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('supervision_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_entries_case_id'), ['case_id'], unique=False)

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_sid', sa.String(length=64), nullable=False),
    sa.Column('from_number', sa.String(length=40), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=40), nullable=False),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_sid')
    )

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=False, server_default='voicemail'))
        batch_op.add_column(sa.Column('answered_from', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('routed_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('unit_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignment_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('return_category', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('verdict_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_unit_results_assignment_id', 'case_assignments', ['assignment_id'], ['id'])
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('liaison_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_notifications_unit_id', 'units', ['unit_id'], ['id'])
        batch_op.create_foreign_key('fk_notifications_liaison_id', 'liaisons', ['liaison_id'], ['id'])

    _migrate_rows(op.get_bind())

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.alter_column('channel', server_default=None)
        batch_op.drop_index('ix_cases_unit_id')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('deadline_reason')
        batch_op.drop_column('supervised')
        batch_op.drop_column('redo_count')
        batch_op.drop_column('criticism_flagged')
        batch_op.create_index(batch_op.f('ix_cases_deadline_at'), ['deadline_at'], unique=False)


def _migrate_rows(conn) -> None:
    meta = sa.MetaData()
    when = sa.DateTime(timezone=True)
    cases = sa.Table('cases', meta, sa.Column('id', sa.Integer), sa.Column('unit_id', sa.Integer),
                     sa.Column('status', sa.String), sa.Column('deadline_at', when),
                     sa.Column('deadline_reason', sa.Text), sa.Column('supervised', sa.Boolean),
                     sa.Column('redo_count', sa.Integer), sa.Column('criticism_flagged', sa.Boolean),
                     sa.Column('created_at', when), sa.Column('routed_at', when))
    results = sa.Table('unit_results', meta, sa.Column('id', sa.Integer),
                       sa.Column('case_id', sa.Integer), sa.Column('submitted_at', when),
                       sa.Column('assignment_id', sa.Integer))
    audit = sa.Table('audit_events', meta, sa.Column('entity_type', sa.String),
                     sa.Column('entity_id', sa.Integer), sa.Column('action', sa.String),
                     sa.Column('actor', sa.String), sa.Column('at', when))
    assignments = sa.Table('case_assignments', meta, sa.Column('id', sa.Integer),
                           sa.Column('case_id', sa.Integer), sa.Column('unit_id', sa.Integer),
                           sa.Column('assigned_at', when), sa.Column('assigned_by', sa.String),
                           sa.Column('due_at', when), sa.Column('result_at', when),
                           sa.Column('returns', sa.Integer),
                           sa.Column('criticism_flagged_at', when))
    deadlines = sa.Table('deadline_changes', meta, sa.Column('case_id', sa.Integer),
                         sa.Column('kind', sa.String), sa.Column('old_deadline', when),
                         sa.Column('new_deadline', when), sa.Column('reason', sa.Text),
                         sa.Column('changed_by', sa.String), sa.Column('changed_at', when))
    entries = sa.Table('supervision_entries', meta, sa.Column('case_id', sa.Integer),
                       sa.Column('cause', sa.String), sa.Column('reason', sa.Text),
                       sa.Column('opened_at', when), sa.Column('opened_by', sa.String),
                       sa.Column('decision', sa.Text))

    conn.execute(cases.update().values(routed_at=cases.c.created_at))
    for case in conn.execute(sa.select(cases)).mappings().all():
        transferred = conn.execute(
            sa.select(audit.c.at, audit.c.actor).where(
                audit.c.entity_type == 'cases', audit.c.entity_id == case['id'],
                audit.c.action == 'case.transferred').order_by(audit.c.at.desc()).limit(1)
        ).first()
        if case['unit_id'] is not None:
            latest_result = conn.execute(sa.select(sa.func.max(results.c.submitted_at)).where(
                results.c.case_id == case['id'])).scalar()
            assignment_id = conn.execute(assignments.insert().values(
                case_id=case['id'], unit_id=case['unit_id'],
                assigned_at=transferred.at if transferred else case['created_at'],
                assigned_by=transferred.actor if transferred else MIGRATION_ACTOR,
                due_at=case['deadline_at'], result_at=latest_result,
                returns=case['redo_count'] or 0,
                criticism_flagged_at=case['created_at'] if case['criticism_flagged'] else None,
            ).returning(assignments.c.id)).scalar_one()
            conn.execute(results.update().where(results.c.case_id == case['id'])
                         .values(assignment_id=assignment_id))
        if case['deadline_at'] is not None:
            reason = case['deadline_reason'] or ''
            kind = 'extension' if reason else ('transfer' if case['unit_id'] else 'same_day')
            conn.execute(deadlines.insert().values(
                case_id=case['id'], kind=kind, old_deadline=None, new_deadline=case['deadline_at'],
                reason=reason, changed_by=MIGRATION_ACTOR, changed_at=case['created_at']))
        if case['supervised']:
            cause = {'bureau_meeting': 'escalation_bureau',
                     'county': 'escalation_county'}.get(case['status'], 'overdue')
            conn.execute(entries.insert().values(
                case_id=case['id'], cause=cause, reason='', opened_at=case['created_at'],
                opened_by=MIGRATION_ACTOR, decision=''))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_deadline_at'))
        batch_op.add_column(sa.Column('criticism_flagged', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('redo_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('supervised', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('deadline_reason', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_cases_unit_id', 'units', ['unit_id'], ['id'])
        batch_op.create_index('ix_cases_unit_id', ['unit_id'], unique=False)
        batch_op.drop_column('routed_at')
        batch_op.drop_column('answered_from')
        batch_op.drop_column('channel')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notifications_liaison_id', type_='foreignkey')
        batch_op.drop_constraint('fk_notifications_unit_id', type_='foreignkey')
        batch_op.drop_column('liaison_id')
        batch_op.drop_column('unit_id')
    with op.batch_alter_table('unit_results', schema=None) as batch_op:
        batch_op.drop_constraint('fk_unit_results_assignment_id', type_='foreignkey')
        batch_op.drop_column('verdict_at')
        batch_op.drop_column('return_category')
        batch_op.drop_column('assignment_id')
    op.drop_table('inbound_messages')
    op.drop_table('supervision_entries')
    op.drop_table('deadline_changes')
    op.drop_table('case_assignments')
