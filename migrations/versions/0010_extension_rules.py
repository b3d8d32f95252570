"""extension rules: dissatisfied redos counted apart from the format/quality streak

case_assignments.returns was every return in a row; from now on it is only the format and
quality returns (criticism ground 1) and the new dissatisfied_redos counts the redos the
liaison's dissatisfaction caused. Existing assignments are recounted from their cases' audit
rows: in order, a transfer opens the next assignment, a return of category format or
quality adds to its streak, one of category dissatisfied to its redos, and an acceptance
ends the streak.

Revision ID: 0010_extension_rules
Revises: 0009_case_version
"""
import json

from alembic import op
import sqlalchemy as sa


revision = "0010_extension_rules"
down_revision = "0009_case_version"
branch_labels = None
depends_on = None

RETURN_ACTIONS = ("case.returned_for_redo", "case.rated_dissatisfied")


def upgrade() -> None:
    with op.batch_alter_table("case_assignments") as batch:
        batch.add_column(sa.Column("dissatisfied_redos", sa.Integer(), nullable=False,
                                   server_default="0"))
    bind = op.get_bind()
    assignments: dict[int, list[int]] = {}
    for row in bind.execute(sa.text("SELECT id, case_id FROM case_assignments ORDER BY id")):
        assignments.setdefault(row.case_id, []).append(row.id)
    counts: dict[int, list[int]] = {}  # assignment id -> [streak, dissatisfied]
    current: dict[int, int] = {}
    events = bind.execute(sa.text(
        "SELECT entity_id, action, after FROM audit_events WHERE entity_type = 'cases' "
        "AND action IN ('case.transferred', 'case.result_accepted', 'case.returned_for_redo', "
        "'case.rated_dissatisfied') ORDER BY id"))
    for case_id, action, after in events:
        ids = assignments.get(case_id)
        if not ids:
            continue
        if action == "case.transferred":
            current[case_id] = current.get(case_id, -1) + 1
            continue
        index = min(current.get(case_id, 0), len(ids) - 1)
        tally = counts.setdefault(ids[index], [0, 0])
        if action == "case.result_accepted":
            tally[0] = 0
            continue
        details = json.loads(after) if isinstance(after, str) else (after or {})
        category = details.get("category")
        if category in ("format", "quality"):
            tally[0] += 1
        elif category == "dissatisfied":
            tally[1] += 1
    for assignment_id, (streak, dissatisfied) in counts.items():
        bind.execute(sa.text("UPDATE case_assignments SET returns = :streak, "
                             "dissatisfied_redos = :dissatisfied WHERE id = :id"),
                     {"streak": streak, "dissatisfied": dissatisfied, "id": assignment_id})


def downgrade() -> None:
    # Before this revision the dissatisfied redos were counted in returns.
    op.execute("UPDATE case_assignments SET returns = returns + dissatisfied_redos")
    with op.batch_alter_table("case_assignments") as batch:
        batch.drop_column("dissatisfied_redos")
