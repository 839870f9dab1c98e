"""My patients: the viewer's scoped patients with progress, activity and latest
primary score. One query for the patient facts, one for the scored responses."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, and_, func, select
from sqlalchemy.orm import aliased

from dashboard.config import Settings
from dashboard.measures import band_label, display_score
from dashboard.responses import scored_responses
from dashboard.schema import activity, clinicians, messages, module_progress, modules, patients, programs, responses
from dashboard.scope import Viewer, patient_filter, scoped_patient_ids
from dashboard.timeutil import days_since

COLUMNS = [
    "patient_id", "code", "display_name", "programme", "primary_instrument", "therapist", "gp", "status",
    "enrolled_at", "modules_total", "modules_completed", "current_module", "progress",
    "last_activity_at", "days_since_activity", "latest_score", "latest_score_display", "latest_band",
    "latest_prorated", "latest_at",
]


def _latest(column, table, *conditions):
    return select(func.max(column)).where(table.c.patient_id == patients.c.id, *conditions).scalar_subquery()


def patient_facts_query(viewer: Viewer, now: datetime, patient_id: int | None = None):
    """Per patient: programme, clinicians, module counts and last-activity inputs.

    Last activity (DESIGN.md) is the latest of activity, responses, patient
    messages, module starts and completions — all capped at ``now`` so a
    future-dated platform row cannot make a patient look active.
    """
    therapist = aliased(clinicians)
    gp = aliased(clinicians)
    in_programme = and_(modules.c.id == module_progress.c.module_id, modules.c.program_id == patients.c.program_id)
    completed = and_(module_progress.c.completed_at.is_not(None), module_progress.c.completed_at <= now)
    n_modules = select(func.count()).where(modules.c.program_id == patients.c.program_id).scalar_subquery()
    n_completed = (
        select(func.count())
        .select_from(module_progress.join(modules, in_programme))
        .where(module_progress.c.patient_id == patients.c.id, completed)
        .scalar_subquery()
    )
    # Current module: the lowest-position module of the programme not completed yet.
    # correlate_except: the EXISTS must see both the outer patient and this module.
    module = aliased(modules)
    done = (
        select(module_progress.c.module_id)
        .where(module_progress.c.patient_id == patients.c.id, module_progress.c.module_id == module.c.id, completed)
        .correlate_except(module_progress)
        .exists()
    )
    current_module = (
        select(func.min(module.c.position))
        .where(module.c.program_id == patients.c.program_id, ~done)
        .scalar_subquery()
    )
    return (
        select(
            patients.c.id.label("patient_id"),
            patients.c.code,
            patients.c.display_name,
            programs.c.name.label("programme"),
            programs.c.primary_instrument,
            therapist.c.display_name.label("therapist"),
            gp.c.display_name.label("gp"),
            patients.c.status,
            patients.c.enrolled_at,
            n_modules.label("modules_total"),
            n_completed.label("modules_completed"),
            current_module.label("current_module"),
            _latest(activity.c.occurred_at, activity, activity.c.occurred_at <= now).label("last_event"),
            _latest(responses.c.administered_at, responses, responses.c.administered_at <= now).label("last_response"),
            _latest(messages.c.sent_at, messages, messages.c.direction == "from_patient", messages.c.sent_at <= now).label("last_patient_message"),
            _latest(module_progress.c.started_at, module_progress, module_progress.c.started_at <= now).label("last_module_start"),
            _latest(module_progress.c.completed_at, module_progress, module_progress.c.completed_at <= now).label("last_module_completion"),
        )
        .select_from(
            patients.outerjoin(programs, programs.c.id == patients.c.program_id)
            .outerjoin(therapist, therapist.c.id == patients.c.therapist_id)
            .outerjoin(gp, gp.c.id == patients.c.gp_id)
        )
        .where(patient_filter(viewer), *([patients.c.id == patient_id] if patient_id is not None else []))
        .order_by(patients.c.code)
    )


LAST_ACTIVITY_INPUTS = ["last_event", "last_response", "last_patient_message", "last_module_start", "last_module_completion"]


def last_activity_at(facts: pd.DataFrame) -> pd.Series:
    """DESIGN.md: the latest of activity, responses, patient messages, module starts
    and completions; ``enrolled_at`` if there is none."""
    return facts[LAST_ACTIVITY_INPUTS].max(axis=1).fillna(facts["enrolled_at"])


def progress_label(completed: int, total: int, current: int | None) -> str:
    if total == 0:
        return "no modules"
    if current is None:
        return f"all {total} completed"
    return f"module {current} of {total}"


def my_patients(
    engine: Engine, viewer: Viewer, now: datetime, settings: Settings | None = None, patient_id: int | None = None
) -> pd.DataFrame:
    """The viewer's patients (or the one ``patient_id`` if in scope), one row each
    (COLUMNS), sorted by code."""
    ids = scoped_patient_ids(viewer)
    if patient_id is not None:
        ids = ids.where(patients.c.id == patient_id)
    with engine.connect() as conn:
        facts = pd.read_sql(
            patient_facts_query(viewer, now, patient_id), conn,
            parse_dates=["enrolled_at", *LAST_ACTIVITY_INPUTS],
        )
        scored = scored_responses(conn, ids, now, settings or Settings(), primary_only=True)
    return list_rows(facts, scored, now)


def list_rows(facts: pd.DataFrame, primary_scored: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """One row per patient (COLUMNS) from their facts (``patient_facts_query``) and
    their scored primary-measure responses; the patient page passes rows it has
    already read instead of reading them again."""
    if facts.empty:
        return pd.DataFrame(columns=COLUMNS)
    facts = facts.copy()
    facts["last_activity_at"] = last_activity_at(facts)
    facts["days_since_activity"] = days_since(facts["last_activity_at"], now)
    facts["modules_total"] = facts["modules_total"].astype("Int64")
    facts["modules_completed"] = facts["modules_completed"].astype("Int64")
    facts["current_module"] = facts["current_module"].astype("Int64")
    facts["progress"] = [
        progress_label(int(c), int(t), None if pd.isna(k) else int(k))
        for c, t, k in zip(facts["modules_completed"], facts["modules_total"], facts["current_module"])
    ]
    latest = _latest_valid(primary_scored)
    out = facts.merge(latest, on="patient_id", how="left")
    return out[COLUMNS]


def _latest_valid(scored: pd.DataFrame) -> pd.DataFrame:
    cols = ["patient_id", "latest_score", "latest_score_display", "latest_band", "latest_prorated", "latest_at"]
    if scored.empty:
        return pd.DataFrame(columns=cols)
    valid = scored[scored["valid"]]
    latest = valid.sort_values(["administered_at", "response_id"]).groupby("patient_id").tail(1)
    return pd.DataFrame({
        "patient_id": latest["patient_id"],
        "latest_score": latest["score"],
        "latest_score_display": [display_score(s) for s in latest["score"]],
        "latest_band": [band_label(i, s) for i, s in zip(latest["instrument"], latest["score"])],
        "latest_prorated": latest["prorated"],
        "latest_at": latest["administered_at"],
    })
