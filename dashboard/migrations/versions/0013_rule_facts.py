"""The refresher's per-response facts gain the instruments' own rule counts, and its
watermark the definition they were computed by (issue 17: pages read the kept facts).

``n_invalid_options``, ``n_na_items`` and ``escalated`` are what ``responses.item_stats``
computes beside the item sums (an answer outside its item's allowed values, a WSAS
not-applicable item, an AUDIT escalation), so a page can take a response's facts
from ``dash_response_facts`` instead of aggregating its item rows. ``facts_hash``
names the definition and instrument registry that made the stored rows
(dashboard.response_facts): rows kept before this revision have none, so no page
reads them and the next refresh rebuilds every row.

Revision ID: 0013
Revises: 0012
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

RULE_COUNTS = ("n_invalid_options", "n_na_items", "escalated")


def upgrade() -> None:
    with op.batch_alter_table("dash_response_facts") as batch:
        for column in RULE_COUNTS:
            batch.add_column(sa.Column(column, sa.Integer, nullable=True))
    with op.batch_alter_table("dash_refresh_marks") as batch:
        batch.add_column(sa.Column("facts_hash", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dash_refresh_marks") as batch:
        batch.drop_column("facts_hash")
    with op.batch_alter_table("dash_response_facts") as batch:
        for column in RULE_COUNTS:
            batch.drop_column(column)
