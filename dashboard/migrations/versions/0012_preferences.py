"""Each clinician's chosen language, kept for their login (issue 21: languages).

One row per username; no row means the default (DASHBOARD_LANGUAGE, else the
browser's language, else English: dashboard.preferences).

Revision ID: 0012
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_preferences",
        sa.Column("username", sa.String(120), primary_key=True),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dash_preferences")
