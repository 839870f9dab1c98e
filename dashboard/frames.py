"""Query results as frames, and small frames as plain Python records.

A clinician's page reads a few dozen rows per query. There ``pd.read_sql``'s own
machinery costs more than PostgreSQL takes to run the prepared statement, and
``itertuples`` or per-row indexing cost microseconds per cell; building frames
from fetched tuples, and records from whole columns, cost a fraction of that."""

from __future__ import annotations

from collections import defaultdict, namedtuple
from functools import cache

import pandas as pd
from sqlalchemy import Executable
from sqlalchemy.engine import Connection


@cache
def _record_type(fields: tuple[str, ...]) -> type:
    return namedtuple("Record", fields)


def records(frame: pd.DataFrame, fields: list[str]) -> list:
    """The rows of ``frame`` as named tuples of ``fields``; timestamps stay
    ``pd.Timestamp`` (missing ones ``NaT``), as ``itertuples`` gives them."""
    make = _record_type(tuple(fields))._make
    return list(map(make, zip(*(frame[c].tolist() for c in fields))))


def records_by_patient(frame: pd.DataFrame | None, order: list[str], fields: list[str]) -> dict[int, list]:
    """patient_id -> the patient's rows of ``frame`` as ``records`` of ``fields``, in
    ``order``; empty for a missing or empty frame. The flag rules loop over one
    patient's responses, follow-ups and concerns: grouping once costs microseconds."""
    out: dict[int, list] = defaultdict(list)
    if frame is not None and not frame.empty:
        for r in records(frame.sort_values(order), fields):
            out[r.patient_id].append(r)
    return out


def per_patient(frame: pd.DataFrame, column: str) -> dict:
    """patient_id -> ``column``, for looking patients up inside a loop or a ``map``."""
    return dict(zip(frame["patient_id"].tolist(), frame[column].tolist()))


def read_frame(
    conn: Connection, stmt: Executable, params: dict | None = None, dates: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Rows of ``stmt`` as a frame; ``dates`` become datetime64 even when empty or all
    missing. Types are as the driver gives them (no Decimal coercion: callers read
    counts, ids, scores and timestamps)."""
    result = conn.execute(stmt, params or {})
    # Plain tuples take pandas' fast path; Row objects are read as generic sequences.
    frame = pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))
    for column in dates:
        if frame[column].dtype.kind != "M":
            frame[column] = pd.to_datetime(frame[column])
    return frame
