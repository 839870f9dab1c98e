"""Derived rows kept by ``caseboard refresh`` (dashboard/refresh.py).

``dash_response_facts`` holds each platform response's raw item aggregates (the
same definition the pages compute live, responses.item_stats), never scores or
bands, which depend on settings and the instrument registry. ``dash_refresh_marks``
is the refresher's watermark per platform table (with the overlap floor that makes
late-committing lower ids safe) and ``dash_refresh_lease`` lets only one refresher
work at a time. All three are caches of the platform: rebuilt by ``refresh --full``.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_response_facts",
        sa.Column(
            "response_id",
            sa.BigInteger().with_variant(sa.Integer, "sqlite"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("instrument", sa.String(20), nullable=False),
        sa.Column("administered_at", sa.DateTime, nullable=True),
        sa.Column("total_score", sa.Integer, nullable=True),
        sa.Column("n_item_rows", sa.Integer, nullable=False),
        sa.Column("n_valid_items", sa.Integer, nullable=False),
        sa.Column("valid_item_sum", sa.Integer, nullable=False),
        sa.Column("risk_item_score", sa.Integer, nullable=True),
        sa.Column("awaited_until", sa.DateTime, nullable=False),
        sa.Column("refreshed_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_dash_response_facts_patient", "dash_response_facts", ["patient_id", "administered_at"])
    op.create_table(
        "dash_refresh_marks",
        sa.Column("source", sa.String(40), primary_key=True),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.Column("last_at", sa.DateTime, nullable=False),
        sa.Column("pending_id", sa.BigInteger, nullable=False),
        sa.Column("pending_at", sa.DateTime, nullable=False),
        sa.Column("floor_id", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "dash_refresh_lease",
        sa.Column("job", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(120), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dash_refresh_lease")
    op.drop_table("dash_refresh_marks")
    op.drop_index("ix_dash_response_facts_patient", "dash_response_facts")
    op.drop_table("dash_response_facts")
