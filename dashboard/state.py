"""The dashboard's own tables (``dash_``), in the state database.

These definitions are what the code queries; the migrations in
``dashboard/migrations/versions`` are what creates them, and a test checks the
two agree after ``upgrade``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

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

# Who marked which triage reason as handled, for which triggering event. Rows are
# only added: a newer qualifying event raises the flag again (dashboard.acks).
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
    Index("ix_dash_ack_patient_flag_time", "patient_id", "flag", "acked_at"),
)
