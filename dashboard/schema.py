"""The platform schema contract (docs/design.md, "The platform schema").

The dashboard only reads these tables. A platform with another schema exposes
SQL views with these names and columns. All timestamps are naive UTC; on SQLite
they are text ``YYYY-MM-DD HH:MM:SS[.ffffff]``.

No foreign-key constraints are declared: the platform owns its data and real
platform databases contain orphan rows, which the dashboard must survive and
report rather than be unable to represent. References are recorded as column
comments instead. Indexes are the ones the dashboard's queries need: patients by
clinician and team, and per-patient time-ordered lookups on the event tables.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import sqlite

metadata = MetaData()

#: The contract's text form of a timestamp on SQLite (docs/design.md).
SQLITE_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


class ContractTimestamp(sqlite.DATETIME):
    """SQLite keeps timestamps as text, so a single row may hold another format
    ('03/11/2026 10:00', epoch seconds, '...T...Z'). Such a value reads as None,
    left out like a null, instead of failing the whole query with a ValueError;
    dashboard.quality counts those rows for the viewer's data-quality note."""

    cache_ok = True

    def result_processor(self, dialect, coltype):
        def process(value):
            if isinstance(value, str) and SQLITE_TIMESTAMP.match(value):
                return datetime.fromisoformat(value)
            return None

        return process


#: Platform timestamps: naive UTC; on SQLite only the contract's text form is read.
Timestamp = DateTime().with_variant(ContractTimestamp(), "sqlite")

#: ``Column.info`` key of an optional extension of the contract: the start-up check does
#: not require it, and every query that reads it first asks whether it is there
#: (``db.platform_has``), so a platform without it keeps today's behaviour.
OPTIONAL = "optional"

ROLES = ("gp", "therapist", "team_lead")
PATIENT_STATUSES = ("active", "completed", "withdrawn")
ENDED_STATUSES = ("completed", "withdrawn")
ACTIVITY_KINDS = ("login", "module_page", "exercise", "homework")
MESSAGE_DIRECTIONS = ("from_patient", "to_patient")

teams = Table(
    "teams",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
)

clinicians = Table(
    "clinicians",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("username", String(100), nullable=False, unique=True, comment="login name"),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False, comment="gp | therapist | team_lead"),
    Column("team_id", Integer, nullable=True, comment="-> teams.id"),
)

programs = Table(
    "programs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(50), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("primary_instrument", String(20), nullable=False),
)

modules = Table(
    "modules",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("program_id", Integer, nullable=False, comment="-> programs.id"),
    Column("position", Integer, nullable=False, comment="1..n"),
    Column("title", String(200), nullable=False),
    Column(
        "summary",
        Text,
        nullable=True,
        info={OPTIONAL: True},
        comment="optional: what the module covers, for the GP's consultation agenda",
    ),
    Index("ix_modules_program", "program_id", "position"),
)

patients = Table(
    "patients",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("code", String(50), nullable=False, unique=True, comment="pseudonymous"),
    Column("display_name", String(200), nullable=True),
    Column("program_id", Integer, nullable=False, comment="-> programs.id"),
    Column("therapist_id", Integer, nullable=True, comment="-> clinicians.id"),
    Column("gp_id", Integer, nullable=True, comment="-> clinicians.id"),
    Column("team_id", Integer, nullable=False, comment="-> teams.id"),
    Column("enrolled_at", Timestamp, nullable=False),
    Column("status", String(20), nullable=False, comment="active | completed | withdrawn"),
    Column("ended_at", Timestamp, nullable=True),
    Index("ix_patients_therapist", "therapist_id"),
    Index("ix_patients_gp", "gp_id"),
    Index("ix_patients_team", "team_id"),
)

module_progress = Table(
    "module_progress",
    metadata,
    Column("patient_id", Integer, nullable=False, comment="-> patients.id"),
    Column("module_id", Integer, nullable=False, comment="-> modules.id"),
    Column("started_at", Timestamp, nullable=False),
    Column("completed_at", Timestamp, nullable=True),
    PrimaryKeyConstraint("patient_id", "module_id"),
)

activity = Table(
    "activity",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, nullable=False, comment="-> patients.id"),
    Column("occurred_at", Timestamp, nullable=False),
    Column("kind", String(20), nullable=False, comment="login | module_page | exercise | homework"),
    Index("ix_activity_patient_time", "patient_id", "occurred_at"),
)

responses = Table(
    "responses",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, nullable=False, comment="-> patients.id"),
    Column("instrument", String(20), nullable=False),
    Column("administered_at", Timestamp, nullable=False),
    Column("total_score", Integer, nullable=True),
    Index("ix_responses_patient_instrument_time", "patient_id", "instrument", "administered_at"),
)

response_items = Table(
    "response_items",
    metadata,
    Column("response_id", Integer, nullable=False, comment="-> responses.id"),
    Column("item", Integer, nullable=False, comment="1..n"),
    Column("score", Integer, nullable=True),
    Index("ix_response_items_response", "response_id", "item", "score"),  # covering: scoring reads only the index
)

messages = Table(
    "messages",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", Integer, nullable=False, comment="-> patients.id"),
    Column("clinician_id", Integer, nullable=True, comment="-> clinicians.id; null = automated"),
    Column("direction", String(20), nullable=False, comment="from_patient | to_patient"),
    Column("sent_at", Timestamp, nullable=False),
    Column("read_at", Timestamp, nullable=True),
    Index("ix_messages_patient_direction_time", "patient_id", "direction", "sent_at"),
)
