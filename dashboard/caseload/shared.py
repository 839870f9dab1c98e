"""Pieces every Caseload figure shares: the page's filters and period, a rate with its
parts, the viewer's scope as SQL conditions, and small frame helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import DateTime, literal
from sqlalchemy.engine import Connection
from sqlalchemy.sql.expression import ColumnElement

from dashboard.schema import (
    patients,
)
from dashboard.scope import Viewer, patient_filter
from dashboard.timeutil import utc_midnight


@dataclass(frozen=True)
class Filters:
    """The page's filters. ``cohort`` limits patients to an enrolment window."""

    start: datetime
    end: datetime
    program_id: int | None = None
    therapist_id: int | None = None
    cohort: tuple[datetime, datetime] | None = None

    @property
    def previous(self) -> Filters:
        """The same length immediately before, for "change"."""
        length = self.end - self.start
        return Filters(self.start - length, self.start, self.program_id, self.therapist_id, self.cohort)


def period(
    first: date | None, last: date | None, now: datetime, tz: ZoneInfo, default_days: int
) -> tuple[datetime, datetime]:
    """(start, end) in naive UTC for whole local days ``first``..``last``; the end is
    capped at ``now`` so today's figures are as of now. Defaults: the last
    ``default_days`` ending now."""
    end = now if last is None else min(now, utc_midnight(last + timedelta(days=1), tz))
    start = end - timedelta(days=default_days) if first is None else utc_midnight(first, tz)
    if start >= end:
        raise ValueError(f"The period must start before it ends (from {first}, to {last}).")
    return start, end


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    rate: float | None  # None when the denominator is below the small-cell minimum (or zero)

    @classmethod
    def of(cls, numerator: int, denominator: int, min_cell: int = 1) -> Rate:
        suppressed = denominator == 0 or denominator < min_cell
        return cls(int(numerator), int(denominator), None if suppressed else numerator / denominator)


def _t(ts):
    """A timestamp parameter typed as DateTime, so SQLite gets its text format (a
    column passes through)."""
    return ts if isinstance(ts, ColumnElement) else literal(ts, DateTime)


def scope_conditions(viewer: Viewer, f: Filters) -> list[ColumnElement[bool]]:
    """The viewer's scope and the page's filters, as conditions on ``patients``."""
    out = [patient_filter(viewer)]
    if f.program_id is not None:
        out.append(patients.c.program_id == f.program_id)
    if f.therapist_id is not None:
        out.append(patients.c.therapist_id == f.therapist_id)
    if f.cohort is not None:
        out.append(patients.c.enrolled_at.between(_t(f.cohort[0]), _t(f.cohort[1])))
    return out


def _frame(conn: Connection, stmt, columns: list[str] | None = None) -> pd.DataFrame:
    frame = pd.read_sql(stmt, conn)
    return frame if columns is None else frame.reindex(columns=columns)


UNASSIGNED_ID = -1  # the workload row of patients with no therapist


def _by_therapist(frame: pd.DataFrame) -> pd.DataFrame:
    return (
        frame.assign(therapist_id=frame["therapist_id"].fillna(UNASSIGNED_ID).astype(int)) if not frame.empty else frame
    )


def _share(n, d) -> float | None:
    return None if not d else float(n) / float(d)


def _nan_none(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)
