"""dash_followups: GP brief follow-ups, append-only versions.

Every correction or withdrawal is a new row of the same entry (entry_id,
version), so the history (who changed what, when, why) is kept; the unique
idempotency key makes a double submit store one row.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_followups",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("gp", sa.String(120), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("minutes", sa.Integer, nullable=False),
        sa.Column("modality", sa.String(20), nullable=False),
        sa.Column("module_position", sa.Integer, nullable=True),
        sa.Column("clinic_phq9", sa.Integer, nullable=True),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("pause_until", sa.Date, nullable=True),
        sa.Column("next_on", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("withdrawn", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("change_reason", sa.Text, nullable=True),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("recorded_by", sa.String(120), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_dash_followups_idempotency"),
        sa.UniqueConstraint("entry_id", "version", name="uq_dash_followups_entry_version"),
    )
    op.create_index("ix_dash_followups_patient", "dash_followups", ["patient_id", "held_on"])
    op.create_index("ix_dash_followups_gp", "dash_followups", ["gp", "held_on"])


def downgrade() -> None:
    op.drop_index("ix_dash_followups_gp", "dash_followups")
    op.drop_index("ix_dash_followups_patient", "dash_followups")
    op.drop_table("dash_followups")
