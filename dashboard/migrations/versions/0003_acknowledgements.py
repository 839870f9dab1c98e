"""dash_acknowledgements: a clinician marked a triage reason as handled.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_acknowledgements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("flag", sa.String(40), nullable=False),
        sa.Column("trigger_at", sa.DateTime, nullable=False),
        sa.Column("acked_at", sa.DateTime, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("note", sa.Text, nullable=True),
    )
    op.create_index("ix_dash_ack_patient_flag_time", "dash_acknowledgements", ["patient_id", "flag", "acked_at"])


def downgrade() -> None:
    op.drop_index("ix_dash_ack_patient_flag_time", "dash_acknowledgements")
    op.drop_table("dash_acknowledgements")
