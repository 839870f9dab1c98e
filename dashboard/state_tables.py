"""The dashboard's own tables (``dash_``), in the state database.

These definitions are what the code queries; the migrations in
``dashboard/migrations/versions`` are what creates them, and a test checks the
two agree after ``upgrade``.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData()

# Alembic's record of the state database's revision: our own table, so a platform
# database that uses Alembic keeps its own (dashboard.db; dashboard.roles grants it).
VERSION_TABLE = "dash_alembic_version"

# Append-only: the app inserts and reads; nothing updates or deletes rows.
audit = Table(
    "dash_audit",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("occurred_at", DateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("action", String(40), nullable=False),
    Column("patient_id", Integer, nullable=True),
    Column("detail", Text, nullable=True),
    Index("ix_dash_audit_actor_time", "actor", "occurred_at"),
    Index("ix_dash_audit_patient_time", "patient_id", "occurred_at"),
)

# Who marked which triage reason as handled, and which platform rows the screen showed
# for it (``evidence``, a JSON list of keys): an acknowledgement covers those rows only,
# so any other qualifying row raises the reason again (dashboard.ack_cover). Rows are
# only added; a withdrawal is a row of dash_ack_withdrawals.
acknowledgements = Table(
    "dash_acknowledgements",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("patient_id", Integer, nullable=False),
    Column("flag", String(40), nullable=False),
    Column("trigger_at", DateTime, nullable=False),
    Column("acked_at", DateTime, nullable=False),
    Column("actor", String(120), nullable=False),
    Column("note", Text, nullable=True),
    Column("evidence", Text, nullable=True),  # NULL: made before revision 0005 (covers up to trigger_at)
    Column("idempotency_key", String(64), nullable=True),
    # the author's role (0010): a peer_supporter's covers only the supporter's own list; NULL: before 0010
    Column("role", String(20), nullable=True),
    UniqueConstraint("idempotency_key", name="uq_dash_ack_idempotency"),
    Index("ix_dash_ack_patient_flag_time", "patient_id", "flag", "acked_at"),
)

# A mistaken acknowledgement withdrawn (by its author or a team lead, with a reason):
# the reason opens again with its original "since". At most one per acknowledgement.
ack_withdrawals = Table(
    "dash_ack_withdrawals",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ack_id", BigInteger().with_variant(Integer, "sqlite"), nullable=False),
    Column("withdrawn_at", DateTime, nullable=False),
    Column("withdrawn_by", String(120), nullable=False),
    Column("reason", Text, nullable=False),
    UniqueConstraint("ack_id", name="uq_dash_ack_withdrawals_ack"),
)

# A peer supporter's concern (issue 20): the patient told them something worrying. It
# raises ``peer_concern`` in the therapist's triage, ranked with risk (dashboard.flags);
# each row is its own evidence ("concern:<id>"), so an acknowledgement covers only the
# concerns its screen showed. Append-only; ``author_name`` is the supporter's display
# name when they recorded it (the reason's words, without a platform read per flag).
concerns = Table(
    "dash_concerns",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("patient_id", Integer, nullable=False),
    Column("recorded_by", Integer, nullable=False),  # the platform's clinicians.id
    Column("actor", String(120), nullable=False),  # their username, as the audit trail names them
    Column("author_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("recorded_at", DateTime, nullable=False),
    Column("note", Text, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_dash_concerns_idempotency"),
    Index("ix_dash_concerns_patient_time", "patient_id", "recorded_at"),
)

# GP follow-ups, append-only: a correction or withdrawal adds version n+1 of the
# entry; the current state of an entry is its highest version (dashboard.gp_followups).
followups = Table(
    "dash_followups",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("entry_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("idempotency_key", String(64), nullable=False),
    Column("patient_id", Integer, nullable=False),
    Column("gp", String(120), nullable=False),
    Column("held_on", Date, nullable=False),
    Column("minutes", Integer, nullable=False),
    Column("modality", String(20), nullable=False),
    Column("module_position", Integer, nullable=True),
    Column("clinic_phq9", Integer, nullable=True),
    Column("action", String(20), nullable=False),
    Column("pause_until", Date, nullable=True),
    Column("next_on", Date, nullable=True),
    Column("note", Text, nullable=True),
    Column("withdrawn", Boolean, nullable=False, server_default=false()),
    Column("change_reason", Text, nullable=True),
    Column("recorded_at", DateTime, nullable=False),
    Column("recorded_by", String(120), nullable=False),
    UniqueConstraint("idempotency_key", name="uq_dash_followups_idempotency"),
    UniqueConstraint("entry_id", "version", name="uq_dash_followups_entry_version"),
    Index("ix_dash_followups_patient", "patient_id", "held_on"),
    Index("ix_dash_followups_gp", "gp", "held_on"),
)

# One row per login session (dashboard.sessions). The cookie carries session_id;
# the row is updated for the clinician's actions and revoked on logout or idle.
sessions = Table(
    "dash_sessions",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("username", String(120), nullable=False),
    Column("created_at", DateTime, nullable=False),
    Column("last_action_at", DateTime, nullable=False),
    Column("revoked_at", DateTime, nullable=True),
    Column("revoke_reason", String(40), nullable=True),
    Column("logout_audited_at", DateTime, nullable=True),
    Index("ix_dash_sessions_username", "username", "created_at"),
)

# Derived rows (dashboard.refresh): each response's raw item aggregates, exactly what
# responses.item_stats computes live, kept ahead of the page by ``caseboard refresh``.
# Raw facts only, never a score, band or word (those depend on settings and the
# instrument registry). A cache of the platform: the refresher rewrites rows in place
# and ``refresh --full`` repairs any drift, so unlike the tables above it is updated.
response_facts = Table(
    "dash_response_facts",
    metadata,
    Column("response_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("patient_id", Integer, nullable=False),
    Column("instrument", String(20), nullable=False),
    Column("administered_at", DateTime, nullable=True),  # NULL: a platform date in another format
    Column("total_score", Integer, nullable=True),
    Column("n_item_rows", Integer, nullable=False),
    Column("n_valid_items", Integer, nullable=False),
    Column("valid_item_sum", Integer, nullable=False),
    Column("risk_item_score", Integer, nullable=True),
    # The instruments' own rule counts (responses.RULE_STATS; 0013). NULL: kept before 0013.
    Column("n_invalid_options", Integer, nullable=True),
    Column("n_na_items", Integer, nullable=True),
    Column("escalated", Integer, nullable=True),
    # Items are awaited (the response re-read) while it has fewer item rows than its
    # instrument has items and its last read was before this: first seen + the settle age.
    Column("awaited_until", DateTime, nullable=False),
    Column("refreshed_at", DateTime, nullable=False),
    Index("ix_dash_response_facts_patient", "patient_id", "administered_at"),
    # The few rows still awaited, found without reading every row (refresh._awaited).
    Index(
        "ix_dash_response_facts_awaited",
        "response_id",
        sqlite_where=text("refreshed_at < awaited_until"),
        postgresql_where=text("refreshed_at < awaited_until"),
    ),
)

# Where the refresher has read up to, per platform table. Ids are not commit order, so
# a refresh re-reads every id above ``floor_id``: the watermark as it stood at least the
# overlap window ago. ``pending_*`` is the mark that becomes the floor once that old.
refresh_marks = Table(
    "dash_refresh_marks",
    metadata,
    Column("source", String(40), primary_key=True),
    Column("last_id", BigInteger, nullable=False),
    Column("last_at", DateTime, nullable=False),
    Column("pending_id", BigInteger, nullable=False),
    Column("pending_at", DateTime, nullable=False),
    Column("floor_id", BigInteger, nullable=False),
    # The definition that made the stored rows (dashboard.response_facts.definition_hash;
    # 0013). Pages read the rows only while it is their own; NULL: none yet, or rebuilding.
    Column("facts_hash", String(64), nullable=True),
)

# The refresher's lease: one row per job; whoever holds an unexpired lease works, any
# other refresher returns at once ("lease held"). Taken by a conditional UPDATE or INSERT.
refresh_lease = Table(
    "dash_refresh_lease",
    metadata,
    Column("job", String(40), primary_key=True),
    Column("holder", String(120), nullable=False),
    Column("expires_at", DateTime, nullable=False),
)

# Per team the Caseload figures of the default period (dashboard.team_snapshot), built by
# ``caseboard refresh`` at ``as_of`` for the local days ``first_day``..``last_day``. The
# four ``*_version`` columns are the state version (dashboard.state_version) of the
# team's patients at ``as_of``: rows stored after it are judged again at page time.
# ``settings_hash`` names the settings and zone that made the figures; a page with other
# settings computes live. A cache, rewritten in place by every build.
team_snapshots = Table(
    "dash_team_snapshots",
    metadata,
    Column("team_id", Integer, primary_key=True, autoincrement=False),
    Column("as_of", DateTime, nullable=False),
    Column("first_day", Date, nullable=False),
    Column("last_day", Date, nullable=False),
    Column("settings_hash", String(64), nullable=False),
    Column("followups_version", BigInteger, nullable=False),
    Column("acks_version", BigInteger, nullable=False),
    Column("withdrawals_version", BigInteger, nullable=False),
    Column("concerns_version", BigInteger, nullable=False, server_default=text("0")),  # 0011
    Column("payload", Text, nullable=False),
    Column("built_ms", Integer, nullable=False),
)

# One row per login: the language the clinician chose in the sidebar (dashboard.preferences).
preferences = Table(
    "dash_preferences",
    metadata,
    Column("username", String(120), primary_key=True),
    Column("language", String(16), nullable=False),
    Column("updated_at", DateTime, nullable=False),
)
