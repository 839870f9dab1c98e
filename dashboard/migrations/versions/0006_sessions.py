"""dash_sessions: the server-side record of each login session.

The login cookie carries only a random session id (and the username and expiry);
this row decides whether that id still logs in: revoked on logout, on idle and
when the account leaves the credentials file, shared by every app instance.
``logout_audited_at`` is set in the same transaction as the logout's audit row,
so a revocation whose audit write failed is audited on a later run.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_sessions",
        sa.Column("session_id", sa.String(64), primary_key=True),
        sa.Column("username", sa.String(120), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_action_at", sa.DateTime, nullable=False),
        sa.Column("revoked_at", sa.DateTime, nullable=True),
        sa.Column("revoke_reason", sa.String(40), nullable=True),
        sa.Column("logout_audited_at", sa.DateTime, nullable=True),
    )
    op.create_index("ix_dash_sessions_username", "dash_sessions", ["username", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_dash_sessions_username", "dash_sessions")
    op.drop_table("dash_sessions")
