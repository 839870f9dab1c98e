"""Weekly trends ending at the period end: enrolments, completions, open episodes,
recovery."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import and_, func, literal, select, union_all
from sqlalchemy.engine import Connection

from dashboard.caseload.outcomes import outcome_rates
from dashboard.caseload.shared import Filters, Rate, _frame, _t, scope_conditions
from dashboard.facts import (
    open_at,
    own_programme_progress,
)
from dashboard.schema import (
    module_progress,
    modules,
    patients,
)
from dashboard.scope import Viewer
from dashboard.sqltime import whole_days_between

TREND_WEEKS = 26


def weekly_trends(
    conn: Connection, viewer: Viewer, f: Filters, episodes: pd.DataFrame, weeks: int, min_cell: int
) -> pd.DataFrame:
    """Per week ending at the period end (week 0 the latest, each ``(end - 7(w+1), end - 7w]``):
    enrolments, module completions, open episodes at the week's end and the recovery
    rate of courses finished in the week (``episodes`` from ``finished_episodes``)."""
    at = f.end
    since = at - timedelta(days=7 * weeks)

    def bucketed(ts_col, *where, join=None):
        week = (whole_days_between(_t(at), ts_col) // 7).label("week")
        stmt = select(week, func.count().label("n"))
        if join is not None:
            stmt = stmt.select_from(join)
        return _frame(
            conn,
            stmt.where(*scope_conditions(viewer, f), ts_col > _t(since), ts_col <= _t(at), *where).group_by(week),
            ["week", "n"],
        ).set_index("week")["n"]

    enrolments = bucketed(patients.c.enrolled_at)
    completions = bucketed(
        module_progress.c.completed_at,
        join=module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
            modules, own_programme_progress()
        ),
    )
    week_ends = union_all(
        *[select(literal(w).label("week"), _t(at - timedelta(days=7 * w)).label("at")) for w in range(weeks)]
    ).subquery()
    open_counts = _frame(
        conn,
        select(week_ends.c.week, func.count(patients.c.id).label("n"))
        .select_from(week_ends.outerjoin(patients, and_(open_at(_t(week_ends.c.at)), *scope_conditions(viewer, f))))
        .group_by(week_ends.c.week),
        ["week", "n"],
    ).set_index("week")["n"]
    rows = []
    ended = episodes.assign(week=((pd.Timestamp(at) - pd.to_datetime(episodes["ended_at"])) // pd.Timedelta(days=7)))
    for w in range(weeks - 1, -1, -1):
        in_week = ended[ended["week"] == w]
        recovery = outcome_rates(in_week, min_cell)["recovery"] if not in_week.empty else Rate.of(0, 0, min_cell)
        rows.append(
            {
                "week": w,
                "week_start": at - timedelta(days=7 * (w + 1)),
                "week_end": at - timedelta(days=7 * w),
                "enrolments": int(enrolments.get(w, 0)),
                "module_completions": int(completions.get(w, 0)),
                "open_episodes": int(open_counts.get(w, 0)),
                "recovery_numerator": recovery.numerator,
                "recovery_denominator": recovery.denominator,
                "recovery_rate": recovery.rate,
            }
        )
    return pd.DataFrame(rows)


def quiet_weeks(trends: pd.DataFrame) -> bool:
    """No enrolment, module completion, active patient or finished course in any week:
    a chart would be flat lines at zero, so the page says so in words instead."""
    counts = ["enrolments", "module_completions", "open_episodes", "recovery_denominator"]
    return trends.empty or not trends[counts].to_numpy().any()
