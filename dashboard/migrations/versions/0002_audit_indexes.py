"""Indexes for the audit trail's filters (by clinician, by patient, by date).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_dash_audit_actor_time", "dash_audit", ["actor", "occurred_at"])
    op.create_index("ix_dash_audit_patient_time", "dash_audit", ["patient_id", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_dash_audit_patient_time", "dash_audit")
    op.drop_index("ix_dash_audit_actor_time", "dash_audit")
