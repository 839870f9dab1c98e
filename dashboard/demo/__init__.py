"""Synthetic platform data for the demo, the tests and the benchmarks.

Why: the dashboard has to be shown, tested and load-tested on data that behaves
like a real guided-iCBT service -- module-by-module attrition, lapsed patients
nobody closed, replies that come after days, deteriorating scores, a few
corrupt questionnaires -- without ever touching real patient data.

Run ``caseboard demo --db URL [--patients N] [--seed S] [--now ISO]``.

Design notes:

* Everything is generated vectorised with numpy for a chunk of patients at a
  time, so 100,000 patients (tens of millions of rows) fit in minutes and in
  bounded memory. The seed spawns one random stream for the reference tables
  and, per chunk, one per table, so the same seed and ``now`` give the same
  database -- and the same patients, answers and messages for any ``now`` on a
  day: how many rows one table draws (activity days follow the calendar, so
  their number moves with the time of day) never shifts another table's draws.
* Times are int64 microseconds since the Unix epoch (naive UTC) until they are
  written. Nothing is ever later than ``now``.
* Loading is backend-specific because generic inserts are far too slow:
  PostgreSQL gets binary ``COPY ... FREEZE`` in one transaction (the tables
  are created in it, so a failed run leaves the old data), SQLite gets
  ``executemany`` with one transaction per chunk. Secondary indexes are built
  after the load.
* Only ``dashboard.schema`` and ``dashboard.engine`` are imported: the
  instrument shapes are hard-coded here so that tests of the dashboard's own
  scoring and flag code stay independent of the data they are tested on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime

import numpy as np
from sqlalchemy import Connection, Engine, insert, inspect, select

from dashboard.demo.activity import _activity_table
from dashboard.demo.care_team import care_team_table
from dashboard.demo.clock import _naive_utc, _to_us, _utc_now
from dashboard.demo.common import (
    CHUNK_PATIENTS,
    DEFAULT_PATIENTS,
    DEFAULT_SEED,
    DEMO_USERS,
    GENERATOR_VERSION,
    DemoRefused,
    GenerationReport,
    demo_meta,
)
from dashboard.demo.database import _analyze, _create_indexes, _database_bytes, _reset_schema
from dashboard.demo.loading import _GenericLoader, _loader
from dashboard.demo.messages import _message_table
from dashboard.demo.patients import _cohort, _module_progress_table, _patients_table
from dashboard.demo.profiles import BENCH, DEMO, Profile
from dashboard.demo.questionnaires import _response_tables
from dashboard.demo.staff import _program_tables, _staff
from dashboard.schema import metadata

__all__ = [
    "BENCH",
    "DEMO",
    "DEFAULT_PATIENTS",
    "DEFAULT_SEED",
    "DEMO_USERS",
    "GENERATOR_VERSION",
    "DemoRefused",
    "GenerationReport",
    "Profile",
    "_GenericLoader",
    "_naive_utc",
    "_utc_now",
    "demo_meta",
    "generate",
    "read_generated_for",
]


def generate(
    engine: Engine,
    patients: int = DEFAULT_PATIENTS,
    seed: int = DEFAULT_SEED,
    now: datetime | None = None,
    profile: Profile = DEMO,
) -> GenerationReport:
    """Replace the platform tables with a synthetic service of ``patients`` patients as of ``now``,
    running ``profile``'s programmes (``BENCH`` for the benchmark: dashboard/demo/profiles.py).

    Raises DemoRefused if the database holds platform tables but no demo_meta table.
    """
    if patients < 1:
        raise ValueError("patients must be at least 1")
    now = _naive_utc(now) if now is not None else _utc_now()
    began = time.perf_counter()
    with engine.connect() as conn:
        _reset_schema(conn)
        if conn.dialect.name != "postgresql":
            conn.commit()  # PostgreSQL loads in this same transaction (COPY FREEZE)
        rows = _load(conn, _chunks(np.random.SeedSequence(seed), patients, _to_us(now), profile))
        _create_indexes(conn)
        _write_meta(conn, now=now.isoformat(), seed=str(seed), patients=str(patients), version=profile.version)
        conn.commit()
        _analyze(conn)
        db_bytes = _database_bytes(conn)
        conn.commit()
    return GenerationReport(seconds=time.perf_counter() - began, rows=rows, db_bytes=db_bytes)


_Chunk = list[tuple[str, dict[str, np.ndarray]]]


def _chunks(seed: np.random.SeedSequence, patients: int, now: int, profile: Profile) -> Iterator[_Chunk]:
    """The platform's rows: reference tables first, then CHUNK_PATIENTS patients at a time.

    Each table of each chunk draws from its own stream (``seed`` spawned), so a table
    that draws a varying number of values cannot change what the next one draws."""
    starts = range(0, patients, CHUNK_PATIENTS)
    reference, *per_chunk = seed.spawn(1 + len(starts))
    rng = np.random.default_rng(reference)
    staff = _staff(rng, patients, now, profile)
    codes = _patient_codes(rng, patients)
    programs, modules = _program_tables(profile.programs)
    yield [
        ("teams", staff.teams),
        ("clinicians", staff.clinicians),
        ("programs", programs),
        ("modules", modules),
    ]
    next_id = dict.fromkeys(("activity", "responses", "messages"), 1)
    for start, chunk_seed in zip(starts, per_chunk, strict=True):
        cohort_rng, activity_rng, response_rng, message_rng = (np.random.default_rng(s) for s in chunk_seed.spawn(4))
        ids = np.arange(start + 1, min(start + CHUNK_PATIENTS, patients) + 1)
        co = _cohort(cohort_rng, staff, ids, now, profile)
        chunk = [
            ("patients", _patients_table(cohort_rng, staff, co, codes[start : start + ids.size])),
            ("module_progress", _module_progress_table(co)),
            ("activity", _activity_table(activity_rng, co, next_id["activity"])),
        ]
        responses, items = _response_tables(response_rng, co, next_id["responses"], now)
        chunk += [
            ("responses", responses),
            ("response_items", items),
            ("messages", _message_table(message_rng, staff, co, now, next_id["messages"])),
            ("care_team", care_team_table(staff.peer_id, staff.peer_team, co, profile)),
        ]
        for name, cols in chunk:
            if name in next_id:
                next_id[name] += cols["id"].size
        yield chunk


def _load(conn: Connection, chunks: Iterator[_Chunk]) -> dict[str, int]:
    """Load every chunk with the backend's fastest loader; rows loaded per table."""
    rows = dict.fromkeys(metadata.tables, 0)
    loader = _loader(conn)
    try:
        for chunk in chunks:
            for name, cols in chunk:
                n = next(iter(cols.values())).size
                if n:  # a chunk may have none of a table (the bench's profile: no care team)
                    loader.load(metadata.tables[name], cols)
                rows[name] += n
            loader.end_chunk()
    finally:
        loader.close()
    return rows


def _write_meta(conn: Connection, now: str, seed: str, patients: str, version: str) -> None:
    """Written last: a run that died half-way has no generated_for and is regenerated."""
    meta = {
        "generated_for": now,
        "seed": seed,
        "patients": patients,
        "generator_version": version,
    }
    conn.execute(insert(demo_meta), [{"key": k, "value": v} for k, v in meta.items()])


def _patient_codes(rng: np.random.Generator, patients: int) -> np.ndarray:
    """Unique pseudonymous codes like 'P-04821', drawn from ten times more numbers than patients."""
    width = max(5, len(str(patients * 10 - 1)))
    numbers = rng.choice(10**width, size=patients, replace=False)
    return np.strings.add("P-", np.strings.zfill(numbers.astype(str), width))


def read_generated_for(engine: Engine) -> datetime | None:
    """The ``now`` a demo database was generated for; None unless it is a complete demo database."""
    with engine.connect() as conn:
        if not inspect(conn).has_table(demo_meta.name):
            return None
        value = conn.execute(select(demo_meta.c.value).where(demo_meta.c.key == "generated_for")).scalar()
    return datetime.fromisoformat(value) if value else None
