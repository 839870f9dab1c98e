"""My patients: the viewer's scoped patients with progress, activity and latest
primary score. One query for the patient facts (dashboard.facts), one for the
scored responses."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from dashboard.config import Settings
from dashboard.facts import LAST_ACTIVITY_INPUTS, last_activity_at, patient_facts_query
from dashboard.frames import read_frame
from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext
from dashboard.measures import band_label, display_score
from dashboard.responses import latest_per_patient, read_scored, responses_query
from dashboard.schema import PATIENT_STATUSES, patients
from dashboard.scope import Viewer, role_patient_ids, scope_params
from dashboard.statements import PATIENT_ID, prepared
from dashboard.timeutil import days_since

COLUMNS = [
    "patient_id",
    "code",
    "display_name",
    "programme",
    "primary_instrument",
    "therapist",
    "gp",
    "status",
    "enrolled_at",
    "modules_total",
    "modules_completed",
    "current_module",
    "progress",
    "last_activity_at",
    "days_since_activity",
    "latest_score",
    "latest_score_display",
    "latest_band",
    "latest_prorated",
    "latest_at",
]


def progress_label(completed: int, total: int, current: int | None) -> str:
    if total == 0:
        return _("no modules")
    if current is None:
        return _("all {total} completed").format(total=total)
    return _("module {current} of {total}").format(current=current, total=total)


@prepared
def _list_statements(role: str, one_patient: bool):
    ids = role_patient_ids(role)
    if one_patient:
        ids = ids.where(patients.c.id == PATIENT_ID)
    return patient_facts_query(role, one_patient), responses_query(ids, primary_only=True)


def my_patients(
    engine: Engine, viewer: Viewer, now: datetime, settings: Settings | None = None, patient_id: int | None = None
) -> pd.DataFrame:
    """The viewer's patients (or the one ``patient_id`` if in scope), one row each
    (COLUMNS), sorted by code."""
    facts_stmt, responses_stmt = _list_statements(viewer.role, patient_id is not None)
    params = {"now": now, **scope_params(viewer, now), "patient_id": patient_id}
    with engine.connect() as conn:
        facts = read_frame(conn, facts_stmt, params, ("enrolled_at", *LAST_ACTIVITY_INPUTS))
        scored = read_scored(conn, responses_stmt, params, settings or Settings())
    return list_rows(facts, scored, now)


def list_rows(facts: pd.DataFrame, primary_scored: pd.DataFrame, now: datetime) -> pd.DataFrame:
    """One row per patient (COLUMNS) from their facts (``patient_facts_query``) and
    their scored primary-measure responses; the patient page passes rows it has
    already read instead of reading them again. Built as one frame from arrays:
    each pandas column assignment costs more than the work on a caseload."""
    if facts.empty:
        return pd.DataFrame(columns=COLUMNS)
    columns = {c: facts[c].to_numpy() for c in COLUMNS if c in facts.columns}
    for c in ("modules_total", "modules_completed", "current_module"):
        columns[c] = facts[c].astype("Int64").array
    last = last_activity_at(facts)
    columns["last_activity_at"] = last.to_numpy()
    columns["days_since_activity"] = days_since(last, now).array
    columns["progress"] = [
        progress_label(int(c), int(t), None if pd.isna(k) else int(k))
        for c, t, k in zip(columns["modules_completed"], columns["modules_total"], columns["current_module"])
    ]
    latest = _latest_valid(primary_scored)
    missing = (np.nan, None, None, None, pd.NaT)
    picked = [latest.get(pid, missing) for pid in columns["patient_id"]]
    for i, c in enumerate(LATEST_COLUMNS):
        columns[c] = [row[i] for row in picked]
    return pd.DataFrame({c: columns[c] for c in COLUMNS})


LATEST_COLUMNS = ["latest_score", "latest_score_display", "latest_band", "latest_prorated", "latest_at"]


def _latest_valid(scored: pd.DataFrame) -> dict[int, tuple]:
    """patient_id -> the LATEST_COLUMNS of their latest valid response."""
    if scored.empty:
        return {}
    latest = latest_per_patient(scored[scored["valid"]])
    return {
        int(pid): (
            score,
            display_score(score),
            band_label(inst, score, not_applicable=na, escalated=up),
            bool(prorated),
            at,
        )
        for pid, score, inst, prorated, at, na, up in zip(
            latest["patient_id"],
            latest["score"],
            latest["instrument"],
            latest["prorated"],
            latest["administered_at"],
            latest["not_applicable"],
            latest["escalated"],
        )
    }


def shown_status(rows: pd.DataFrame) -> pd.Series:
    """The status a list filters on: a status the platform left missing or unknown
    counts as active (flags.in_treatment errs towards showing the patient)."""
    return rows["status"].where(rows["status"].isin(list(PATIENT_STATUSES)), "active")


def filter_patients(
    rows: pd.DataFrame, programmes: list[str], statuses: list[str], search: str
) -> tuple[pd.DataFrame, str | None]:
    """My patients as filtered, and a note when the filters hide matches of a search.

    A search finds part of a code in any case and across every status (a completed
    patient at the top of a lead's Triage must be found), so the status filter
    steps aside while one is typed; the programme filter still applies, and the note
    says how many matches it hides rather than answering "0 of 250"."""
    search = search.strip()
    in_programme = rows["programme"].isin(programmes) if programmes else pd.Series(True, index=rows.index)
    if not search:
        keep = in_programme & (shown_status(rows).isin(statuses) if statuses else True)
        return rows[keep], None
    matches = rows["code"].astype(str).str.contains(search, case=False, regex=False)
    hidden = int((matches & ~in_programme).sum())
    note = (
        ngettext(
            "{n} more patient matches “{search}” in other programmes: clear the Programme filter to see them.",
            "{n} more patients match “{search}” in other programmes: clear the Programme filter to see them.",
            hidden,
        ).format(n=f"{hidden:,}", search=search)
        if hidden
        else None
    )
    return rows[matches & in_programme], note
