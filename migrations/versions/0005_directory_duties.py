"""directory upkeep and duties: leaders' reporting chain, contact logs, commendations

Revision ID: 0005_directory_duties
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = "0005_directory_duties"
down_revision = "0003_working_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing leaders get no superior and are not the head; an admin sets both on screen.
    with op.batch_alter_table("leaders") as batch:
        batch.add_column(sa.Column("reports_to_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("is_head", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.create_foreign_key("fk_leaders_reports_to_id_leaders", "leaders",
                                 ["reports_to_id"], ["id"])
    with op.batch_alter_table("leaders") as batch:
        batch.alter_column("is_head", server_default=None)
    op.create_table(
        "contact_logs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=False),
        sa.Column("liaison_id", sa.Integer(), nullable=False),
        sa.Column("contacted_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"]),
        sa.ForeignKeyConstraint(["liaison_id"], ["liaisons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_contact_logs_leader_day", "contact_logs", ["leader_id", "contacted_on"])
    op.create_index("ix_contact_logs_liaison_id", "contact_logs", ["liaison_id"])
    op.create_table(
        "commendations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("letter", "banner", "media", name="commendationkind",
                                  native_enum=False, length=20), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("giver", sa.String(length=200), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["leader_id"], ["leaders.id"]),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_commendations_leader_id", "commendations", ["leader_id"])
    op.create_index("ix_commendations_unit_id", "commendations", ["unit_id"])
    op.create_index("ix_commendations_received_on", "commendations", ["received_on"])


def downgrade() -> None:
    op.drop_index("ix_commendations_received_on", table_name="commendations")
    op.drop_index("ix_commendations_unit_id", table_name="commendations")
    op.drop_index("ix_commendations_leader_id", table_name="commendations")
    op.drop_table("commendations")
    op.drop_index("ix_contact_logs_liaison_id", table_name="contact_logs")
    op.drop_index("ix_contact_logs_leader_day", table_name="contact_logs")
    op.drop_table("contact_logs")
    with op.batch_alter_table("leaders") as batch:
        batch.drop_constraint("fk_leaders_reports_to_id_leaders", type_="foreignkey")
        batch.drop_column("is_head")
        batch.drop_column("reports_to_id")
