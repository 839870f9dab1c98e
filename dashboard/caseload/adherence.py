"""Adherence: completers and drop-outs per programme, the module funnel, days per module
and lapsed open episodes (clinical-reference 5.1)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased

from dashboard.caseload.shared import Filters, _frame, _t, scope_conditions
from dashboard.config import Settings
from dashboard.facts import (
    LAST_ACTIVITY_INPUTS,
    activity_between,
    ended_by,
    last_activity_at,
    last_activity_columns,
    modules_completed,
    of_own_programme,
    open_at,
    own_programme_progress,
    programme_module_count,
)
from dashboard.schema import (
    clinicians,
    module_progress,
    modules,
    patients,
    programs,
)
from dashboard.scope import Viewer
from dashboard.sqltime import days_between, median_by, whole_days_between
from dashboard.timeutil import days_since


def _patient_adherence(viewer: Viewer, f: Filters, settings: Settings):
    """One row per patient enrolled by the period end (in scope and filters): module
    counts, end state and whether they have lapsed, as of the period end."""
    at = f.end
    lapse_from = at - timedelta(days=settings.dropout_inactive_days)
    n_modules, n_completed = programme_module_count(), modules_completed(_t(at))
    last_started = (
        select(func.max(modules.c.position))
        .select_from(module_progress.join(modules, own_programme_progress()))
        .where(module_progress.c.patient_id == patients.c.id, module_progress.c.started_at <= _t(at))
        .scalar_subquery()
    )
    return (
        select(
            patients.c.id.label("patient_id"),
            patients.c.program_id,
            patients.c.therapist_id,
            n_modules.label("n_modules"),
            n_completed.label("n_completed"),
            func.coalesce(last_started, 0).label("last_started"),
            case((ended_by(_t(at)), 1), else_=0).label("ended"),
            case((and_(ended_by(_t(at)), patients.c.status == "withdrawn"), 1), else_=0).label("withdrawn"),
            case((and_(open_at(_t(at)), ~activity_between(_t(lapse_from), _t(at))), 1), else_=0).label("lapsed"),
        )
        .where(*scope_conditions(viewer, f), patients.c.enrolled_at <= _t(at))
        .subquery()
    )


BY_MODULE_COLUMNS = ["program_id", "position", "started", "completed", "dropouts"]


def _dropout(p):
    """clinical-reference 5.1: ended (withdrawn) or inactive beyond the inactivity
    threshold before completing every module."""
    full = and_(p.c.n_modules > 0, p.c.n_completed >= p.c.n_modules)
    return full, and_(~full, or_(p.c.withdrawn == 1, p.c.lapsed == 1))


def adherence(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per programme figures, per module of each programme: who started it, completed
    it and dropped out at it). Every module of a programme with patients in scope is
    listed, a module with no drop-out too, so programmes can be compared module by module.
    A drop-out counts at the last module they started; ``dropouts_not_started`` (per
    programme) are those who dropped out before starting any."""
    p = _patient_adherence(viewer, f, settings)
    full, dropout = _dropout(p)
    eighty = and_(p.c.n_modules > 0, p.c.n_completed * 10 >= p.c.n_modules * 8)
    per_programme = select(
        p.c.program_id,
        func.count().label("enrolled"),
        func.sum(p.c.ended).label("ended"),
        func.sum(case((and_(p.c.ended == 1, full), 1), else_=0)).label("full_completers"),
        func.sum(case((and_(p.c.ended == 1, eighty), 1), else_=0)).label("completers_80"),
        func.sum(case((and_(p.c.withdrawn == 1, ~full), 1), else_=0)).label("withdrawn_early"),
        func.sum(case((and_(p.c.lapsed == 1, ~full), 1), else_=0)).label("lapsed_early"),
        func.sum(case((dropout, 1), else_=0)).label("dropouts"),
        func.sum(case((and_(dropout, p.c.last_started == 0), 1), else_=0)).label("dropouts_not_started"),
    ).group_by(p.c.program_id)
    progress = (module_progress.c.patient_id == p.c.patient_id, module_progress.c.module_id == modules.c.id)
    started = exists().where(*progress, module_progress.c.started_at <= _t(f.end))
    completed = exists().where(
        *progress, module_progress.c.started_at <= _t(f.end), module_progress.c.completed_at <= _t(f.end)
    )
    by_module = (
        select(
            modules.c.program_id,
            modules.c.position,
            func.sum(case((started, 1), else_=0)).label("started"),
            func.sum(case((completed, 1), else_=0)).label("completed"),
            func.sum(case((and_(dropout, p.c.last_started == modules.c.position), 1), else_=0)).label("dropouts"),
        )
        .select_from(p.join(modules, modules.c.program_id == p.c.program_id))
        .group_by(modules.c.program_id, modules.c.position)
    )
    return _frame(conn, per_programme), _frame(conn, by_module, BY_MODULE_COLUMNS)


def funnel(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> pd.DataFrame:
    """Per programme and module k: patients counted for k (episode ended, or enrolled
    at least k x pace + grace days before the period end) and those who started k.
    Censoring keeps recent enrolments from looking like drop-outs."""
    at = f.end
    need_days = modules.c.position * settings.module_pace_days + settings.funnel_grace_days
    eligible = or_(ended_by(_t(at)), whole_days_between(_t(at), patients.c.enrolled_at) >= need_days)
    started = exists().where(
        module_progress.c.patient_id == patients.c.id,
        module_progress.c.module_id == modules.c.id,
        module_progress.c.started_at <= _t(at),
    )
    stmt = (
        select(
            modules.c.program_id,
            modules.c.position,
            func.sum(case((eligible, 1), else_=0)).label("eligible"),
            func.sum(case((and_(eligible, started), 1), else_=0)).label("started"),
        )
        .select_from(patients.join(modules, of_own_programme()))
        .where(*scope_conditions(viewer, f), patients.c.enrolled_at <= _t(at))
        .group_by(modules.c.program_id, modules.c.position)
    )
    return _frame(conn, stmt, ["program_id", "position", "eligible", "started"])


def module_days(conn: Connection, viewer: Viewer, f: Filters) -> pd.DataFrame:
    """Median days from starting to completing each module, over completions by the period end."""
    days = days_between(module_progress.c.completed_at, module_progress.c.started_at).label("days")
    values = (
        select(modules.c.program_id, modules.c.position, days)
        .select_from(
            module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(
                modules, own_programme_progress()
            )
        )
        .where(
            *scope_conditions(viewer, f),
            patients.c.enrolled_at <= _t(f.end),
            module_progress.c.completed_at <= _t(f.end),
            module_progress.c.completed_at >= module_progress.c.started_at,
        )
    )
    frame = _frame(
        conn, median_by(values, "days", ["program_id", "position"]), ["program_id", "position", "median", "n"]
    )
    return frame.rename(columns={"median": "median_days", "n": "completions"})


def lapsed_patients(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> pd.DataFrame:
    """Open episodes with no activity for ``dropout_inactive_days``: the service should
    close or re-engage them. Patient rows, in the viewer's scope only."""
    at = f.end
    lapse_from = at - timedelta(days=settings.dropout_inactive_days)
    therapist = aliased(clinicians)

    stmt = (
        select(
            patients.c.id.label("patient_id"),
            patients.c.code,
            programs.c.name.label("programme"),
            therapist.c.display_name.label("therapist"),
            patients.c.enrolled_at,
            modules_completed(_t(at)).label("modules_completed"),
            programme_module_count().label("modules_total"),
            *last_activity_columns(_t(at)),
        )
        .select_from(
            patients.outerjoin(programs, programs.c.id == patients.c.program_id).outerjoin(
                therapist, therapist.c.id == patients.c.therapist_id
            )
        )
        .where(*scope_conditions(viewer, f), open_at(_t(at)), ~activity_between(_t(lapse_from), _t(at)))
        .order_by(patients.c.code)
    )
    frame = pd.read_sql(stmt, conn, parse_dates=["enrolled_at", *LAST_ACTIVITY_INPUTS])
    frame["last_activity_at"] = last_activity_at(frame)
    frame["days_inactive"] = days_since(frame["last_activity_at"], at)
    frame["therapist"] = frame["therapist"].fillna("unassigned")
    return frame.sort_values(["days_inactive", "code"], ascending=[False, True])[
        [
            "patient_id",
            "code",
            "programme",
            "therapist",
            "enrolled_at",
            "modules_completed",
            "modules_total",
            "last_activity_at",
            "days_inactive",
        ]
    ].reset_index(drop=True)
