"""One patient's record: the rows behind the patient page, read in a handful of
small per-patient queries, and the pure functions that summarise them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine, and_, bindparam, select
from sqlalchemy.orm import aliased

from dashboard import flags
from dashboard import my_patients as my_patients_data
from dashboard.config import Settings
from dashboard.facts import is_clinician_contact, of_own_programme
from dashboard.frames import read_frame
from dashboard.measures import INSTRUMENTS, band_label
from dashboard.outcomes import NhsOutcome, at_caseness, nhs_outcome, reliable_change
from dashboard.responses import read_scored, responses_query
from dashboard.schema import activity, clinicians, messages, module_progress, modules, patients, programs
from dashboard.scope import Viewer, patient_filter, role_filter, scope_params
from dashboard.statements import NOW, PATIENT_ID, prepared
from dashboard.timeutil import DAY


@dataclass(frozen=True)
class Patient:
    patient_id: int
    code: str
    display_name: str | None
    programme: str | None
    primary_instrument: str | None
    therapist: str | None
    gp: str | None
    enrolled_at: datetime | None  # None: the platform row lacks it (bad data); the treatment clock is unknown
    status: str | None
    ended_at: datetime | None


def file_stem(patient: Patient) -> str:
    """A file name's stem for the patient's exports: the code where it is safe in a
    path, else the record id."""
    code = patient.code or ""
    safe = code and all(c.isascii() and (c.isalnum() or c in "-_") for c in code)
    return code if safe else f"patient-{patient.patient_id}"


def find_patient(engine: Engine, viewer: Viewer, code: str) -> Patient | None:
    """The patient with this code if the viewer may see them and the code names one
    record. None both when the code does not exist and when it is out of scope: the
    page must not tell them apart. A code two records share (a platform view need
    not enforce UNIQUE) names nobody: use ``patients_with_code``."""
    found = patients_with_code(engine, viewer, code)
    return found[0] if len(found) == 1 else None


def patients_with_code(engine: Engine, viewer: Viewer, code: str) -> list[Patient]:
    """Every record in the viewer's scope with this code, by id (more than one is the
    ``code_duplicate`` data-quality problem)."""
    with engine.connect() as conn:
        rows = conn.execute(_find_statement(viewer.role, "code"), {"key": code, **scope_params(viewer)}).all()
    return sorted((Patient(*row) for row in rows), key=lambda p: p.patient_id)


def find_patient_by_id(engine: Engine, viewer: Viewer, patient_id: int) -> Patient | None:
    return _find(engine, viewer, "id", patient_id)


@prepared
def _find_statement(role: str, key: str):
    therapist, gp = aliased(clinicians), aliased(clinicians)
    return (
        select(
            patients.c.id,
            patients.c.code,
            patients.c.display_name,
            programs.c.name,
            programs.c.primary_instrument,
            therapist.c.display_name,
            gp.c.display_name,
            patients.c.enrolled_at,
            patients.c.status,
            patients.c.ended_at,
        )
        .select_from(
            patients.outerjoin(programs, programs.c.id == patients.c.program_id)
            .outerjoin(therapist, therapist.c.id == patients.c.therapist_id)
            .outerjoin(gp, gp.c.id == patients.c.gp_id)
        )
        .where(patients.c[key] == bindparam("key"), role_filter(role))
    )


def _find(engine: Engine, viewer: Viewer, key: str, value) -> Patient | None:
    with engine.connect() as conn:
        row = conn.execute(_find_statement(viewer.role, key), {"key": value, **scope_params(viewer)}).first()
    return None if row is None else Patient(*row)


def programme_modules(engine: Engine, viewer: Viewer, patient_id: int) -> list[tuple[int, str]]:
    """(position, title) of the modules of this patient's programme, if in scope."""
    stmt = (
        select(modules.c.position, modules.c.title)
        .select_from(modules.join(patients, of_own_programme()))
        .where(patients.c.id == patient_id, patient_filter(viewer))
        .order_by(modules.c.position)
    )
    with engine.connect() as conn:
        return [(int(p), str(t)) for p, t in conn.execute(stmt)]


@dataclass(frozen=True)
class RecordRows:
    responses: pd.DataFrame  # scored, all instruments
    modules: pd.DataFrame  # position, title, started_at, completed_at (all modules of the programme)
    activity: pd.DataFrame  # occurred_at, kind
    messages: pd.DataFrame  # sent_at, direction, clinician_id


@prepared
def _record_statements(role: str):
    """(responses, modules, activity, messages) of one patient; every one repeats the scope filter."""
    in_scope = select(patients.c.id).where(patients.c.id == PATIENT_ID, role_filter(role))
    mods = (
        select(modules.c.position, modules.c.title, module_progress.c.started_at, module_progress.c.completed_at)
        .select_from(
            patients.join(modules, of_own_programme()).outerjoin(
                module_progress,
                and_(
                    module_progress.c.module_id == modules.c.id,
                    module_progress.c.patient_id == patients.c.id,
                    module_progress.c.started_at <= NOW,
                ),
            )
        )
        .where(patients.c.id.in_(in_scope))
        .order_by(modules.c.position)
    )
    acts = (
        select(activity.c.occurred_at, activity.c.kind)
        .where(activity.c.patient_id.in_(in_scope), activity.c.occurred_at <= NOW)
        .order_by(activity.c.occurred_at)
    )
    msgs = (
        select(messages.c.sent_at, messages.c.direction, messages.c.clinician_id)
        .where(messages.c.patient_id.in_(in_scope), messages.c.sent_at <= NOW)
        .order_by(messages.c.sent_at)
    )
    return responses_query(in_scope), mods, acts, msgs


def load_record_rows(engine: Engine, viewer: Viewer, patient: Patient, now: datetime, settings: Settings) -> RecordRows:
    """Everything the page draws, up to ``now``."""
    responses_stmt, mods_stmt, acts_stmt, msgs_stmt = _record_statements(viewer.role)
    at = {"now": now, **scope_params(viewer), "patient_id": patient.patient_id}
    with engine.connect() as conn:
        scored = read_scored(conn, responses_stmt, at, settings)
        mods = read_frame(conn, mods_stmt, at, ("started_at", "completed_at"))
        acts = read_frame(conn, acts_stmt, at, ("occurred_at",))
        msgs = read_frame(conn, msgs_stmt, at, ("sent_at",))
    # A completion after `now` has not happened yet.
    mods.loc[mods["completed_at"] > pd.Timestamp(now), "completed_at"] = pd.NaT
    # A timestamp in another format reads as missing (schema.ContractTimestamp): such a
    # row cannot be placed in time, so it is left out (dashboard.quality reports it).
    return RecordRows(scored, mods, acts.dropna(subset=["occurred_at"]), msgs.dropna(subset=["sent_at"]))


def load_page(
    engine: Engine, viewer: Viewer, patient: Patient, now: datetime, settings: Settings, state: Engine | None = None
) -> tuple[RecordRows, pd.DataFrame, flags.FlagInputs]:
    """(rows, list row, flag inputs) for the patient page: the questionnaires are
    read and scored once and the patient's facts once, though three views use them."""
    rows = load_record_rows(engine, viewer, patient, now, settings)
    inputs = flags.load_inputs(engine, viewer, now, settings, patient.patient_id, state, scored=rows.responses)
    primary = rows.responses[rows.responses["instrument"] == patient.primary_instrument]
    return rows, my_patients_data.list_rows(inputs.patients, primary, now), inputs


# ---------------------------------------------------------------- outcomes


def episode_responses(scored: pd.DataFrame, enrolled_at: datetime | None, settings: Settings) -> pd.DataFrame:
    """Valid responses of the episode: from the baseline window before enrolment onward
    (every valid response when the enrolment date is missing: the best the record allows)."""
    valid = scored[scored["valid"]]
    if enrolled_at is not None:
        valid = valid[
            valid["administered_at"] >= pd.Timestamp(enrolled_at) - pd.Timedelta(days=settings.baseline_window_days)
        ]
    return valid.sort_values(["administered_at", "response_id"])


@dataclass(frozen=True)
class InstrumentSummary:
    instrument: str
    n: int
    baseline: float
    baseline_at: datetime
    latest: float
    latest_at: datetime
    band_baseline: str | None
    band_latest: str | None
    reliable_change: str
    caseness_baseline: bool | None
    caseness_latest: bool | None
    status: str  # recovery (PHQ-9, GAD-7), response/remission (ISI), or why there is none

    @property
    def change(self) -> float:
        return self.latest - self.baseline


def summarise_instrument(instrument: str, episode: pd.DataFrame) -> InstrumentSummary | None:
    rows = episode[episode["instrument"] == instrument]
    if rows.empty:
        return None
    first, last = rows.iloc[0], rows.iloc[-1]
    baseline, latest = float(first["score"]), float(last["score"])
    case_base, case_now = at_caseness(instrument, baseline), at_caseness(instrument, latest)
    return InstrumentSummary(
        instrument=instrument,
        n=len(rows),
        baseline=baseline,
        baseline_at=first["administered_at"].to_pydatetime(),
        latest=latest,
        latest_at=last["administered_at"].to_pydatetime(),
        band_baseline=band_label(instrument, baseline),
        band_latest=band_label(instrument, latest),
        reliable_change=reliable_change(instrument, baseline, latest),
        caseness_baseline=case_base,
        caseness_latest=case_now,
        status=_status(instrument, baseline, latest, case_base, case_now, len(rows)),
    )


def _status(
    instrument: str, baseline: float, latest: float, case_base: bool | None, case_now: bool | None, n: int
) -> str:
    inst = INSTRUMENTS[instrument]
    if n < 2:
        return "only a baseline so far"
    if inst.response_decrease is not None:  # ISI: response and remission (clinical-reference 4, [S28])
        response = baseline - latest >= inst.response_decrease
        remission = latest < inst.remission_below
        return (
            f"{'response' if response else 'no response'} (decrease of {inst.response_decrease} or more); "
            f"{'remission' if remission else 'no remission'} (below {inst.remission_below})"
        )
    if case_base is None:
        return "no cut-off or recovery criterion for this measure unless the service configures one"
    if not case_base:
        return "not at caseness at baseline: recovery does not apply"
    return "recovered (below caseness now)" if not case_now else "not recovered (still at caseness)"


def nhs_status(episode: pd.DataFrame, settings: Settings) -> NhsOutcome | None:
    """Paired PHQ-9 + GAD-7 status, for every patient with both measures paired (3.2)."""
    phq, gad = summarise_instrument("PHQ9", episode), summarise_instrument("GAD7", episode)
    if phq is None or gad is None or phq.n < 2 or gad.n < 2:
        return None
    return nhs_outcome(
        phq.baseline, phq.latest, gad.baseline, gad.latest, bool(settings.deterioration_requires_no_improvement)
    )


# ---------------------------------------------------------------- modules


def module_timeline(
    mods: pd.DataFrame, enrolled_at: datetime | None, now: datetime, settings: Settings
) -> pd.DataFrame:
    """Each module with its due date (enrolment + k x pace) and state; overdue
    once ``reminder_module_overdue_days`` have passed after the due date (5.3).
    Without an enrolment date nothing is due, so nothing is overdue."""
    pace = timedelta(days=float(settings.module_pace_days))
    grace = timedelta(days=float(settings.reminder_module_overdue_days))
    out = mods.copy()
    start = pd.Timestamp(enrolled_at) if enrolled_at is not None else pd.NaT
    out["due_at"] = pd.to_datetime(
        pd.Series([start + k * pace for k in out["position"]], index=out.index, dtype=object)
    )
    done = out["completed_at"].notna()
    overdue = ~done & (pd.Timestamp(now) >= out["due_at"] + grace)
    late = done & (out["completed_at"] > out["due_at"] + grace)
    out["state"] = np.select(
        [done & late, done, overdue & out["started_at"].notna(), overdue, out["started_at"].notna()],
        ["completed late", "completed", "overdue (started)", "overdue (not started)", "in progress"],
        default="not started",
    )
    return out


def current_module(timeline: pd.DataFrame) -> int | None:
    """The lowest-position module not completed (clinical-reference 5.3 / docs/design.md)."""
    pending = timeline.loc[timeline["completed_at"].isna(), "position"]
    return None if pending.empty else int(pending.min())


# ---------------------------------------------------------------- engagement


def treatment_week(ts: pd.Series, enrolled_at: datetime | None) -> pd.Series:
    """Week w covers [7(w-1), 7w) days after enrolment; before enrolment is week 0.
    Missing (<NA>) where the time or the enrolment date is unknown."""
    if enrolled_at is None:
        return pd.Series(pd.NA, index=ts.index, dtype="Int64")
    days = (pd.to_datetime(ts) - pd.Timestamp(enrolled_at)) / DAY
    return (np.floor(days / 7) + 1).clip(lower=0).astype("Int64")


@dataclass(frozen=True)
class Engagement:
    last_clinician_contact: datetime | None
    waiting_since: datetime | None  # the patient's earliest message after the last clinician contact
    weekly: pd.DataFrame  # week, logins, exercises, from_patient, to_patient


def engagement(rows: RecordRows, enrolled_at: datetime, now: datetime) -> Engagement:
    msgs = rows.messages
    contact = msgs.loc[is_clinician_contact(msgs), "sent_at"]
    last_contact = contact.max() if not contact.empty else None
    from_patient = msgs.loc[msgs["direction"] == "from_patient", "sent_at"]
    unanswered = from_patient[from_patient > last_contact] if last_contact is not None else from_patient
    acts = rows.activity.assign(week=treatment_week(rows.activity["occurred_at"], enrolled_at))
    current = treatment_week(pd.Series([now]), enrolled_at).iloc[0]
    weeks = range(0, 0 if pd.isna(current) else int(current) + 1)
    weekly = pd.DataFrame({"week": list(weeks)}).set_index("week")
    weekly["logins"] = acts[acts["kind"] == "login"].groupby("week").size()
    weekly["exercises"] = acts[acts["kind"].isin(["exercise", "homework"])].groupby("week").size()
    m = msgs.assign(week=treatment_week(msgs["sent_at"], enrolled_at))
    weekly["from_patient"] = m[m["direction"] == "from_patient"].groupby("week").size()
    weekly["to_patient"] = m[is_clinician_contact(msgs)].groupby("week").size()
    weekly = weekly.fillna(0).astype(int).reset_index()
    return Engagement(
        last_clinician_contact=None if last_contact is None else last_contact.to_pydatetime(),
        waiting_since=None if unanswered.empty else unanswered.min().to_pydatetime(),
        weekly=weekly,
    )
