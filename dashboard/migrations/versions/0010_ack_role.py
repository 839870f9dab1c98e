"""Acknowledgements carry the role of who made them (issue 20: peer supporters).

A peer supporter marks the contact reasons of their own list handled ("Who to
contact today"); such an acknowledgement covers only that list, never the
therapist's reason, so the flag engine reads each list's acknowledgements apart
(dashboard.clinician_records.load_acks). Rows made before this revision have no
role and belong to the clinical triage, as every acknowledgement did.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dash_acknowledgements") as batch:
        batch.add_column(sa.Column("role", sa.String(20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dash_acknowledgements") as batch:
        batch.drop_column("role")
