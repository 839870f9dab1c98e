"""A corpus of messy platform data (issue 7, "Bad platform data"), built on the
hand-written factory so each bad row is stated, not generated.

Real platforms expose the contract as views, which enforce no NOT NULL and no
foreign keys; the corpus tables are therefore created without those constraints.
Every bad row belongs to a patient in therapist ``ther.a``'s (and GP ``gp.a``'s,
team lead ``lead.a``'s) scope unless the case is an orphan, which belongs to
nobody. ``CLEAN`` is a well-formed patient beside them: the pages must keep
showing it correctly.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine, MetaData, UniqueConstraint, insert, text

from dashboard import schema
from tests.factory import Platform, module_id

CLEAN = "CLEAN-01"


def relaxed_metadata() -> MetaData:
    """The contract's tables with every non-key column nullable and nothing unique, as a view allows."""
    relaxed = MetaData()
    for table in schema.metadata.sorted_tables:
        copy = table.to_metadata(relaxed)
        for column in copy.columns:
            if not column.primary_key:
                column.nullable = True
                column.unique = False
        for constraint in [c for c in copy.constraints if isinstance(c, UniqueConstraint)]:
            copy.constraints.discard(constraint)
    return relaxed


class BadPlatform(Platform):
    """The factory's platform, created from the relaxed tables."""

    def __init__(self, engine: Engine, now: datetime):
        relaxed_metadata().create_all(engine)
        super().__init__(engine, now)  # create_all finds the tables and adds reference rows

    def raw(self, table: str, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(schema.metadata.tables[table]).values(**values))

    def sql(self, statement: str, **params) -> None:
        with self.engine.begin() as conn:
            conn.execute(text(statement), params)


def build(p: BadPlatform) -> dict[str, int]:
    """Every case, plus the clean patient. Returns patient ids by code."""
    ids: dict[str, int] = {}
    future = p.now + timedelta(days=30)

    ids[CLEAN] = p.patient(CLEAN, enrolled_days_ago=40)
    p.module(ids[CLEAN], "depression", 1, 39, 30)
    p.module(ids[CLEAN], "depression", 2, 29)
    p.phq9(ids[CLEAN], 39, 18)
    p.phq9(ids[CLEAN], 2, 9)
    p.activity(ids[CLEAN], 1)
    p.message(ids[CLEAN], 3, "from_patient")

    # -- nulls where the contract says not null
    pid = ids["NULL-ENROLLED"] = p.patient("NULL-ENROLLED")
    p.sql("UPDATE patients SET enrolled_at = NULL WHERE id = :i", i=pid)
    p.phq9(pid, 5, 12)
    # patient without enrolment date: patients.enrolled_at is null
    pid = ids["NULL-STATUS"] = p.patient("NULL-STATUS")
    p.sql("UPDATE patients SET status = NULL WHERE id = :i", i=pid)
    # patient without status: patients.status is null
    pid = ids["NULL-EVENTS"] = p.patient("NULL-EVENTS", enrolled_days_ago=20)
    p.raw("activity", id=9001, patient_id=pid, occurred_at=None, kind="login")
    p.raw("activity", id=9002, patient_id=pid, occurred_at=p.ago(2), kind=None)
    p.raw("messages", id=9003, patient_id=pid, clinician_id=None, direction="from_patient", sent_at=None)
    p.raw("messages", id=9004, patient_id=pid, clinician_id=1, direction=None, sent_at=p.ago(1))
    p.raw("responses", id=9005, patient_id=pid, instrument="PHQ9", administered_at=None, total_score=14)
    p.raw("responses", id=9006, patient_id=pid, instrument=None, administered_at=p.ago(3), total_score=14)
    p.raw("module_progress", patient_id=pid, module_id=module_id("depression", 1), started_at=None)
    p.raw("response_items", response_id=9005, item=None, score=2)
    # event rows without timestamps or kinds: null occurred_at, kind, sent_at, direction, administered_at, instrument, started_at, item

    # -- out-of-range scores, missing items, totals that disagree
    pid = ids["OUT-OF-RANGE"] = p.patient("OUT-OF-RANGE")
    p.response(pid, "PHQ9", 10, [3, 3, 3, 3, 3, 3, 3, 3, 7])
    p.response(pid, "PHQ9", 5, None, total=99)
    p.response(pid, "GAD7", 5, [1, 1, 1, -2, 1, 1, 1])
    # out-of-range scores: item 9 = 7, a total of 99 without items, a GAD-7 item of -2
    pid = ids["MISSING-ITEMS"] = p.patient("MISSING-ITEMS")
    p.response(pid, "PHQ9", 10, [2, 2, None, None, None, 2, 2, 2, 0])
    # missing items: a PHQ-9 with three items absent: not scored
    pid = ids["TOTAL-DISAGREES"] = p.patient("TOTAL-DISAGREES")
    p.response(pid, "PHQ9", 4, [1, 1, 1, 1, 1, 1, 1, 1, 0], total=25)
    # total disagrees with items: stored total 25, items sum to 8

    # -- duplicate responses
    pid = ids["DUPLICATES"] = p.patient("DUPLICATES")
    for _ in range(2):
        p.phq9(pid, 6, 11)
    rid = p.phq9(pid, 2, 8)
    p.raw("response_items", response_id=rid, item=1, score=1)
    # duplicate responses: the same PHQ-9 twice, and one item row repeated

    # -- future timestamps
    pid = ids["FUTURE"] = p.patient("FUTURE")
    p.raw("activity", id=9101, patient_id=pid, occurred_at=future, kind="login")
    p.raw("responses", id=9102, patient_id=pid, instrument="PHQ9", administered_at=future, total_score=3)
    p.raw("messages", id=9103, patient_id=pid, clinician_id=None, direction="from_patient", sent_at=future)
    p.raw(
        "module_progress",
        patient_id=pid,
        module_id=module_id("depression", 1),
        started_at=p.ago(20),
        completed_at=future,
    )
    pid = ids["FUTURE-ENROLLED"] = p.patient("FUTURE-ENROLLED", enrolled_days_ago=-10)
    # future timestamps: activity, a response, a message and a module completion 30 days ahead
    # enrolled in the future: patients.enrolled_at 10 days ahead

    # -- timestamps in another format (SQLite keeps text; PostgreSQL's column type cannot hold one)
    if p.engine.dialect.name == "sqlite":
        pid = ids["FORMAT"] = p.patient("FORMAT")
        iso = (p.now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        p.sql("INSERT INTO activity (id, patient_id, occurred_at, kind) VALUES (9201, :p, :t, 'login')", p=pid, t=iso)
        p.sql(
            "INSERT INTO activity (id, patient_id, occurred_at, kind) VALUES (9202, :p, '03/11/2026 10:00', 'login')",
            p=pid,
        )
        p.sql(
            "INSERT INTO messages (id, patient_id, direction, sent_at) VALUES (9203, :p, 'from_patient', 1762164000)",
            p=pid,
        )
        p.sql(
            "INSERT INTO responses (id, patient_id, instrument, administered_at, total_score) "
            "VALUES (9204, :p, 'PHQ9', 'yesterday', 12)",
            p=pid,
        )
        # timestamps in another format: ISO 8601 with Z, dd/mm/yyyy, epoch seconds, a word

    # -- orphan rows
    p.raw("activity", id=9301, patient_id=99999, occurred_at=p.ago(1), kind="login")
    p.raw("responses", id=9302, patient_id=99999, instrument="PHQ9", administered_at=p.ago(1), total_score=27)
    p.raw("response_items", response_id=99998, item=9, score=3)
    p.raw("messages", id=9303, patient_id=99999, clinician_id=1, direction="from_patient", sent_at=p.ago(1))
    p.raw("module_progress", patient_id=99999, module_id=module_id("depression", 1), started_at=p.ago(1))
    # orphan rows: events of patient 99999, who does not exist, and items of a missing response
    pid = ids["ORPHAN-REFS"] = p.patient("ORPHAN-REFS", therapist=1, gp=3)
    p.raw("module_progress", patient_id=pid, module_id=987654, started_at=p.ago(10))
    p.raw("messages", id=9304, patient_id=pid, clinician_id=4242, direction="to_patient", sent_at=p.ago(2))
    # rows pointing at missing modules or clinicians: module 987654, clinician 4242

    # -- unknown instrument codes
    pid = ids["UNKNOWN-INSTRUMENT"] = p.patient("UNKNOWN-INSTRUMENT")
    p.response(pid, "XYZ", 3, [1, 2, 3])
    p.response(pid, "phq-9", 3, [3] * 9)
    # unknown instrument codes: 'XYZ' and 'phq-9'

    # -- a patient with no programme, a programme that does not exist, no therapist or a missing one
    pid = ids["NO-PROGRAMME"] = p.patient("NO-PROGRAMME")
    p.sql("UPDATE patients SET program_id = NULL WHERE id = :i", i=pid)
    p.phq9(pid, 4, 16)
    pid = ids["MISSING-PROGRAMME"] = p.patient("MISSING-PROGRAMME")
    p.sql("UPDATE patients SET program_id = 77 WHERE id = :i", i=pid)
    ids["NO-THERAPIST"] = p.patient("NO-THERAPIST", therapist=None)
    p.phq9(ids["NO-THERAPIST"], 4, 20, item9=2)
    ids["UNKNOWN-THERAPIST"] = p.patient("UNKNOWN-THERAPIST", therapist=4242)
    # patient with no programme: patients.program_id is null
    # patient whose programme does not exist: patients.program_id = 77
    # patient with no therapist: patients.therapist_id is null (GP and lead see them)
    # patient whose therapist does not exist: patients.therapist_id = 4242
    return ids
