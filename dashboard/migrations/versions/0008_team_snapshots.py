"""Per team the Caseload figures of the default period, kept by ``caseboard refresh``
(dashboard/team_snapshot.py): the page shows them with their "as of" instead of
computing them at request time. A cache of the platform and the state database at
``as_of``, rebuilt by the refresher; the settings hash says which settings made it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_team_snapshots",
        sa.Column("team_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("as_of", sa.DateTime, nullable=False),
        sa.Column("first_day", sa.Date, nullable=False),
        sa.Column("last_day", sa.Date, nullable=False),
        sa.Column("settings_hash", sa.String(64), nullable=False),
        sa.Column("followups_version", sa.BigInteger, nullable=False),
        sa.Column("acks_version", sa.BigInteger, nullable=False),
        sa.Column("withdrawals_version", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("built_ms", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dash_team_snapshots")
