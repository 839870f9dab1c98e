"""Acknowledgements say what the screen showed, and can be withdrawn.

``evidence`` holds the keys of the platform rows the clinician saw for the
reason (JSON list: response ids, message ids, completions, ...); an
acknowledgement covers only those rows (dashboard.ack_cover). Rows made before
this revision have none and keep their old rule (they cover events up to their
``trigger_at``). ``idempotency_key`` makes a double submit store one row.
Withdrawals are appended to their own table, so nothing is updated or deleted.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dash_acknowledgements") as batch:
        batch.add_column(sa.Column("evidence", sa.Text, nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(64), nullable=True))
        batch.create_unique_constraint("uq_dash_ack_idempotency", ["idempotency_key"])
    op.create_table(
        "dash_ack_withdrawals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("ack_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime, nullable=False),
        sa.Column("withdrawn_by", sa.String(120), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("ack_id", name="uq_dash_ack_withdrawals_ack"),
    )


def downgrade() -> None:
    op.drop_table("dash_ack_withdrawals")
    with op.batch_alter_table("dash_acknowledgements") as batch:
        batch.drop_constraint("uq_dash_ack_idempotency", type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("evidence")
