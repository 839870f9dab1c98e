"""A peer supporter's concerns (issue 20): ``dash_concerns``, and the team snapshots'
state version gains its concerns part.

A supporter records a concern when the patient told them something worrying; it
raises a reason in the therapist's triage ranked with a risk answer (dashboard.flags,
``peer_concern``). Rows are only added, like every clinician record. A kept team
snapshot stores the highest concern id it was judged with (``concerns_version``), so
a concern recorded after it is judged again at page time (dashboard.team_snapshot);
snapshots made before this revision hold 0 and judge every concern again.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dash_concerns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.Integer, nullable=False),
        sa.Column("recorded_by", sa.Integer, nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("recorded_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.UniqueConstraint("idempotency_key", name="uq_dash_concerns_idempotency"),
    )
    op.create_index("ix_dash_concerns_patient_time", "dash_concerns", ["patient_id", "recorded_at"])
    with op.batch_alter_table("dash_team_snapshots") as batch:
        batch.add_column(sa.Column("concerns_version", sa.BigInteger, nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("dash_team_snapshots") as batch:
        batch.drop_column("concerns_version")
    op.drop_index("ix_dash_concerns_patient_time", table_name="dash_concerns")
    op.drop_table("dash_concerns")
