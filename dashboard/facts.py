"""The clinical terms, each defined once (docs/design.md): clinician contact, last
activity, in treatment and a module of the patient's own programme.

Every query that needs a term builds it from here, so Triage, My patients, the
patient page, Caseload, the report and the command line cannot drift apart.
The SQL builders return SQLAlchemy Core expressions correlated with
``schema.patients`` (the outer query's patient); a time bound is given by the
caller (``NOW`` for the pages' statements, a period's end for Caseload) because
every term is "up to" some time: a future-dated platform row has not happened yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Table, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from dashboard.schema import (
    ENDED_STATUSES,
    activity,
    clinicians,
    messages,
    module_progress,
    modules,
    patients,
    programs,
    responses,
)
from dashboard.scope import PEER_SUPPORTER, role_filter
from dashboard.statements import NOW, PATIENT_ID

# ---------------------------------------------------------------- clinician contact


def clinician_contact(m: Table = messages, peers: bool = False) -> ColumnElement[bool]:
    """A message to the patient from a clinician: automated reminders (no
    ``clinician_id``) are never contact. A peer supporter's message is peer contact, its
    own fact (issue 20): it never clears a therapist's reason nor counts as a treatment
    session; ``peers`` counts it too (a supporter's own list). A message from a clinician
    row that does not exist still counts."""
    human = and_(m.c.direction == "to_patient", m.c.clinician_id.is_not(None))
    return human if peers else and_(human, ~from_peer_supporter(m))


def from_peer_supporter(m: Table = messages) -> ColumnElement[bool]:
    """The message was sent by a clinician whose role is peer_supporter."""
    return exists().where(clinicians.c.id == m.c.clinician_id, clinicians.c.role == PEER_SUPPORTER)


def patient_message(m: Table = messages) -> ColumnElement[bool]:
    """A message the patient wrote."""
    return m.c.direction == "from_patient"


def last_clinician_contact(until, peers: bool = False) -> ColumnElement:
    """The patient's latest clinician contact up to ``until`` (None if none yet); with
    ``peers``, a peer supporter's message counts too (``clinician_contact``)."""
    m = aliased(messages)
    return (
        select(func.max(m.c.sent_at))
        .where(m.c.patient_id == patients.c.id, clinician_contact(m, peers), m.c.sent_at <= until)
        .correlate_except(m)
        .scalar_subquery()
    )


def first_clinician_contact_after(ts, until) -> ColumnElement:
    """The patient's first clinician contact at or after ``ts`` and up to ``until``."""
    m = aliased(messages)
    return (
        select(func.min(m.c.sent_at))
        .where(m.c.patient_id == patients.c.id, clinician_contact(m), m.c.sent_at >= ts, m.c.sent_at <= until)
        .scalar_subquery()
    )


def contact_between(lo, hi) -> ColumnElement[bool]:
    """Some clinician contact in [lo, hi]."""
    return exists().where(
        messages.c.patient_id == patients.c.id, clinician_contact(), messages.c.sent_at.between(lo, hi)
    )


def contacts_between(lo, hi) -> ColumnElement:
    """How many clinician contacts the patient had in [lo, hi]."""
    return (
        select(func.count())
        .where(
            messages.c.patient_id == patients.c.id,
            clinician_contact(),
            messages.c.sent_at >= lo,
            messages.c.sent_at <= hi,
        )
        .scalar_subquery()
    )


def is_clinician_contact(msgs: pd.DataFrame) -> pd.Series:
    """``clinician_contact`` over rows already read (``direction``, ``clinician_id``, ``from_peer``)."""
    return (msgs["direction"] == "to_patient") & msgs["clinician_id"].notna() & ~msgs["from_peer"].astype(bool)


# ---------------------------------------------------------------- last activity


@dataclass(frozen=True)
class ActivitySource:
    """One kind of row that counts as the patient being active."""

    name: str  # the column its latest time is read into
    table: Table
    column: str
    only: str | None = None  # messages: the patient's own only

    def time(self, table: Table | None = None) -> ColumnElement:
        return (self.table if table is None else table).c[self.column]

    def conditions(self) -> list[ColumnElement[bool]]:
        return [patient_message(self.table)] if self.only == "from_patient" else []


# The latest of these is the patient's last activity; ``enrolled_at`` if there is none.
LAST_ACTIVITY_SOURCES = (
    ActivitySource("last_event", activity, "occurred_at"),
    ActivitySource("last_response", responses, "administered_at"),
    ActivitySource("last_patient_message", messages, "sent_at", only="from_patient"),
    ActivitySource("last_module_start", module_progress, "started_at"),
    ActivitySource("last_module_completion", module_progress, "completed_at"),
)
LAST_ACTIVITY_INPUTS = [s.name for s in LAST_ACTIVITY_SOURCES]


def last_activity_columns(until) -> list:
    """One labelled scalar subquery per source: its latest time up to ``until``
    (capped, so a future-dated platform row cannot make a patient look active)."""
    return [
        select(func.max(s.time()))
        .where(s.table.c.patient_id == patients.c.id, *s.conditions(), s.time() <= until)
        .scalar_subquery()
        .label(s.name)
        for s in LAST_ACTIVITY_SOURCES
    ]


def activity_between(lo, hi) -> ColumnElement[bool]:
    """Some activity in [lo, hi], as EXISTS probes on the sources' time indexes
    (enrolment counts: "``enrolled_at`` if none")."""
    pid = patients.c.id
    return or_(
        *[
            exists().where(s.table.c.patient_id == pid, *s.conditions(), s.time().between(lo, hi))
            for s in LAST_ACTIVITY_SOURCES
        ],
        patients.c.enrolled_at.between(lo, hi),
    )


def last_activity_at(facts: pd.DataFrame) -> pd.Series:
    """The last activity of each row of ``facts`` (LAST_ACTIVITY_INPUTS read by
    ``last_activity_columns``): the latest of its inputs, ``enrolled_at`` if none."""
    latest = reduce(np.fmax, (facts[c].to_numpy(dtype="datetime64[us]") for c in LAST_ACTIVITY_INPUTS))
    return pd.Series(latest, index=facts.index).fillna(facts["enrolled_at"])


# ---------------------------------------------------------------- in treatment


def _present(ts) -> bool:
    return ts is not None and not pd.isna(ts)


def in_treatment(status, ended_at) -> bool:
    """Active, or a status the platform left missing or unknown on an episode with no
    end date: hiding a patient who may be in treatment (and their risk answers) is
    the worse error, so bad status data errs towards showing them."""
    return status == "active" or (status not in ENDED_STATUSES and not _present(ended_at))


def may_be_in_treatment() -> ColumnElement[bool]:
    """Every episode ``in_treatment`` may call open, so it may prefilter in SQL: a
    missing or open status, or no end date (all but an ended status with an end date)."""
    return or_(patients.c.status.is_(None), patients.c.status.not_in(ENDED_STATUSES), patients.c.ended_at.is_(None))


def not_closed_before(ts) -> ColumnElement[bool]:
    """Every episode but those certainly closed before ``ts`` (an ended status and an
    end date before it). Keeps every patient ``in_treatment``."""
    return or_(may_be_in_treatment(), patients.c.ended_at >= ts)


def open_at(ts) -> ColumnElement[bool]:
    """Enrolled and not ended at ``ts``, for figures of a past period: a closed status
    without ``ended_at`` is bad platform data and counts as ended, since a period's
    counts cannot err towards showing (``in_treatment`` is the flags' view of now)."""
    return and_(
        patients.c.enrolled_at <= ts,
        or_(patients.c.ended_at > ts, and_(patients.c.ended_at.is_(None), patients.c.status == "active")),
    )


def ended_by(ts) -> ColumnElement[bool]:
    """Not active, and ended by ``ts`` (or with no end date: bad data, counted as ended)."""
    return and_(patients.c.status != "active", or_(patients.c.ended_at.is_(None), patients.c.ended_at <= ts))


def finished_between(lo, hi) -> ColumnElement[bool]:
    """An ended status (completed or withdrawn) with an end date in [lo, hi]."""
    return and_(patients.c.status.in_(ENDED_STATUSES), patients.c.ended_at.between(lo, hi))


# ---------------------------------------------------------------- the patient's own programme


def of_own_programme(m: Table = modules) -> ColumnElement[bool]:
    """A module of the patient's programme."""
    return m.c.program_id == patients.c.program_id


def own_programme_progress(mp: Table = module_progress, m: Table = modules) -> ColumnElement[bool]:
    """Join condition of a progress row to its module when that module is of the
    patient's own programme: progress on another programme's module is bad data and
    counts for nothing (not completed, not fed back on, not in a funnel)."""
    return and_(m.c.id == mp.c.module_id, of_own_programme(m))


def programme_module_count() -> ColumnElement:
    """How many modules the patient's programme has."""
    return select(func.count()).where(of_own_programme()).scalar_subquery()


def modules_completed(until) -> ColumnElement:
    """How many modules of their own programme the patient completed up to ``until``."""
    return (
        select(func.count())
        .select_from(module_progress.join(modules, own_programme_progress()))
        .where(
            module_progress.c.patient_id == patients.c.id,
            module_progress.c.completed_at.is_not(None),
            module_progress.c.completed_at <= until,
        )
        .scalar_subquery()
    )


# ---------------------------------------------------------------- one row of facts per patient


def _name_of(clinician_id):
    # A lookup per patient, not a join: PostgreSQL hashed the whole clinicians table
    # (thousands of GPs) to name a caseload's few.
    return select(clinicians.c.display_name).where(clinicians.c.id == clinician_id).scalar_subquery()


def patient_facts_query(role: str, one_patient: bool = False):
    """Per patient: programme, clinicians, module counts and the last-activity inputs
    (LAST_ACTIVITY_SOURCES), all up to ``now``; My patients, the flags and the patient
    page read it. Parameters: ``now``, the viewer's ``scope_id`` and, for
    ``one_patient``, ``patient_id``."""
    # Current module: the lowest-position module of the programme not completed yet.
    # correlate_except: the EXISTS must see both the outer patient and this module.
    module = aliased(modules)
    done = (
        select(module_progress.c.module_id)
        .where(
            module_progress.c.patient_id == patients.c.id,
            module_progress.c.module_id == module.c.id,
            module_progress.c.completed_at.is_not(None),
            module_progress.c.completed_at <= NOW,
        )
        .correlate_except(module_progress)
        .exists()
    )
    current_module = select(func.min(module.c.position)).where(of_own_programme(module), ~done).scalar_subquery()
    return (
        select(
            patients.c.id.label("patient_id"),
            patients.c.code,
            patients.c.display_name,
            programs.c.name.label("programme"),
            programs.c.primary_instrument,
            _name_of(patients.c.therapist_id).label("therapist"),
            _name_of(patients.c.gp_id).label("gp"),
            patients.c.status,
            patients.c.enrolled_at,
            programme_module_count().label("modules_total"),
            modules_completed(NOW).label("modules_completed"),
            current_module.label("current_module"),
            *last_activity_columns(NOW),
        )
        .select_from(patients.outerjoin(programs, programs.c.id == patients.c.program_id))
        .where(role_filter(role), *([patients.c.id == PATIENT_ID] if one_patient else []))
        .order_by(patients.c.code)
    )
