"""Data quality: what in the platform rows behind a viewer's page was left out or
adjusted, so the page can say so (docs/design.md: "Platform data is not trusted").

The calculations themselves already exclude bad rows (null or future timestamps
never satisfy ``<= now``; a timestamp in another format reads as missing, see
``schema.ContractTimestamp``; scoring notes come from ``measures.score_responses``).
This module only counts them, per check and per patient of the viewer's scope, so
a clinician knows which records to correct on the platform. Rows that belong to
no patient (orphans) are in nobody's scope and so in no figure; an operator
counts them with ``caseboard quality [--db URL]``, which reads whole
tables and so is never run by a page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import Boolean, ColumnElement, Engine, Select, and_, exists, func, literal, not_, or_, select, union_all

from dashboard.config import Settings
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS
from dashboard.responses import scored_responses
from dashboard.schema import (
    ACTIVITY_KINDS,
    MESSAGE_DIRECTIONS,
    PATIENT_STATUSES,
    activity,
    clinicians,
    messages,
    module_progress,
    modules,
    patients,
    programs,
    response_items,
    responses,
)
from dashboard.scope import Viewer, patient_filter


@dataclass(frozen=True)
class Check:
    key: str
    problem: str  # what is wrong, in a clinician's words (English, N_: shown through ``words``)
    effect: str  # what the dashboard did about it


CHECKS: tuple[Check, ...] = (
    Check(
        "enrolment_missing",
        N_("enrolment date missing"),
        N_("treatment week, module due dates and early-response checkpoints are not shown"),
    ),
    Check("enrolment_future", N_("enrolment date in the future"), N_("no flags or team figures until that date")),
    Check(
        "status_unknown",
        N_("status missing or unknown"),
        N_("treated as in treatment while there is no end date (flags still show); left out of team figures"),
    ),
    Check(
        "code_duplicate",
        N_("patient code shared with another patient record"),
        N_("lists open the record chosen; a link by the code alone asks which record is meant"),
    ),
    Check(
        "programme_unknown",
        N_("no programme, or a programme that does not exist"),
        N_("no modules or primary questionnaire to track"),
    ),
    Check("therapist_unknown", N_("therapist does not exist"), N_("shown as unassigned")),
    Check("therapist_missing", N_("no therapist"), N_("in no therapist's queue: the team lead's triage shows them")),
    Check("gp_unknown", N_("GP does not exist"), N_("shown without a GP")),
    Check(
        "event_time_missing",
        N_("activity, message or questionnaire without a usable date"),
        N_("left out (null, or not in the agreed 'YYYY-MM-DD HH:MM:SS' format)"),
    ),
    Check(
        "event_time_future",
        N_("activity, message, questionnaire or module dated in the future"),
        N_("left out until that time"),
    ),
    Check("event_kind_unknown", N_("activity kind or message direction missing or unknown"), N_("left out")),
    Check(
        "clinician_unknown", N_("message from a clinician who does not exist"), N_("still counted as clinician contact")
    ),
    Check(
        "module_unknown",
        N_("module progress for a module that does not exist, or without a start date"),
        N_("left out"),
    ),
    Check("instrument_unknown", N_("questionnaire with an unknown instrument code"), N_("not scored")),
    Check(
        "duplicate_response",
        N_("the same questionnaire recorded more than once"),
        N_("each copy is kept, so it shows twice on the trajectory"),
    ),
    Check(
        "scoring",
        N_("questionnaire with out-of-range, missing, repeated items or a disagreeing total"),
        N_("scored as clinical-reference 1.3 allows, or not scored; each is listed on the patient page"),
    ),
    Check(
        "option_invalid",
        N_("questionnaire answer that is not one of its item's options (AUDIT items 9-10: only 0, 2 or 4)"),
        N_("the answer is treated as missing, so the questionnaire is not scored (clinical-reference 4)"),
    ),
)
CHECK_BY_KEY = {c.key: c for c in CHECKS}
COLUMNS = ["check", "problem", "effect", "patients", "rows", "codes"]


def words(key: str, problem: str, effect: str) -> tuple[str, str]:
    """A check's (problem, effect) in the run's language, from its key: a frame kept in
    another language (a team snapshot built by ``caseboard refresh``) still reads in
    the viewer's. Words of an unknown key are shown as stored."""
    check = CHECK_BY_KEY.get(key)
    return (_(check.problem), _(check.effect)) if check else (problem, effect)


def _unusable_time(column, dialect: str) -> ColumnElement[bool]:
    """Null, or (SQLite, text) not in the contract's format: read as missing."""
    if dialect != "sqlite":
        return column.is_(None)
    glob = column.op("GLOB", return_type=Boolean)
    return or_(
        column.is_(None),
        func.typeof(column) != "text",
        not_(glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*")),
    )


def _future(column, now: datetime, dialect: str) -> ColumnElement[bool]:
    return and_(column > now, not_(_unusable_time(column, dialect)))


def _rows(key: str, table, condition, in_scope: Select) -> Select:
    return (
        select(literal(key).label("check"), table.c.patient_id.label("patient_id"), func.count().label("n"))
        .where(table.c.patient_id.in_(in_scope), condition)
        .group_by(table.c.patient_id)
    )


def _patient_rows(key: str, condition, scope) -> Select:
    return select(literal(key).label("check"), patients.c.id.label("patient_id"), literal(1).label("n")).where(
        scope, condition
    )


def code_shared() -> ColumnElement[bool]:
    """The ``code_duplicate`` check: another platform record, in anyone's scope, holds
    this patient's code. One definition, since the FHIR export refuses such a patient
    (dashboard.fhir: the code is its identifier, and would merge two people)."""
    other = patients.alias("other")
    return exists().where(other.c.code == patients.c.code, other.c.id != patients.c.id)


def code_is_shared(engine: Engine, patient_id: int) -> bool:
    """``code_shared`` for one patient (True also for a patient with no code)."""
    with engine.connect() as conn:
        row = conn.execute(select(code_shared(), patients.c.code.is_(None)).where(patients.c.id == patient_id)).first()
    return row is None or bool(row[0]) or bool(row[1])


def row_checks(viewer: Viewer, now: datetime, dialect: str, patient_id: int | None = None) -> Select:
    """One row per (check, patient) with the number of bad rows, for the checks SQL can see."""
    mine = patient_filter(viewer, now)
    scope = mine if patient_id is None else and_(mine, patients.c.id == patient_id)
    in_scope = select(patients.c.id).where(scope)
    known_clinician = lambda col: exists().where(clinicians.c.id == col)  # noqa: E731
    known_instrument = responses.c.instrument.in_(list(INSTRUMENTS))
    duplicates = (
        select(responses.c.patient_id, func.count().label("copies"))
        .where(responses.c.patient_id.in_(in_scope), responses.c.administered_at <= now)
        .group_by(responses.c.patient_id, responses.c.instrument, responses.c.administered_at)
        .having(func.count() > 1)
        .subquery()
    )
    parts = [
        _patient_rows("enrolment_missing", _unusable_time(patients.c.enrolled_at, dialect), scope),
        _patient_rows("enrolment_future", _future(patients.c.enrolled_at, now, dialect), scope),
        _patient_rows("code_duplicate", code_shared(), scope),
        _patient_rows(
            "status_unknown", or_(patients.c.status.is_(None), patients.c.status.not_in(PATIENT_STATUSES)), scope
        ),
        _patient_rows("programme_unknown", not_(exists().where(programs.c.id == patients.c.program_id)), scope),
        _patient_rows(
            "therapist_unknown",
            and_(patients.c.therapist_id.is_not(None), not_(known_clinician(patients.c.therapist_id))),
            scope,
        ),
        _patient_rows("therapist_missing", patients.c.therapist_id.is_(None), scope),
        _patient_rows(
            "gp_unknown", and_(patients.c.gp_id.is_not(None), not_(known_clinician(patients.c.gp_id))), scope
        ),
        _rows("event_time_missing", activity, _unusable_time(activity.c.occurred_at, dialect), in_scope),
        _rows("event_time_missing", messages, _unusable_time(messages.c.sent_at, dialect), in_scope),
        _rows("event_time_missing", responses, _unusable_time(responses.c.administered_at, dialect), in_scope),
        _rows("event_time_future", activity, _future(activity.c.occurred_at, now, dialect), in_scope),
        _rows("event_time_future", messages, _future(messages.c.sent_at, now, dialect), in_scope),
        _rows("event_time_future", responses, _future(responses.c.administered_at, now, dialect), in_scope),
        _rows(
            "event_time_future",
            module_progress,
            or_(
                _future(module_progress.c.started_at, now, dialect),
                _future(module_progress.c.completed_at, now, dialect),
            ),
            in_scope,
        ),
        _rows(
            "event_kind_unknown",
            activity,
            or_(activity.c.kind.is_(None), activity.c.kind.not_in(ACTIVITY_KINDS)),
            in_scope,
        ),
        _rows(
            "event_kind_unknown",
            messages,
            or_(messages.c.direction.is_(None), messages.c.direction.not_in(MESSAGE_DIRECTIONS)),
            in_scope,
        ),
        _rows(
            "clinician_unknown",
            messages,
            and_(messages.c.clinician_id.is_not(None), not_(known_clinician(messages.c.clinician_id))),
            in_scope,
        ),
        _rows(
            "module_unknown",
            module_progress,
            or_(
                _unusable_time(module_progress.c.started_at, dialect),
                not_(exists().where(modules.c.id == module_progress.c.module_id)),
            ),
            in_scope,
        ),
        _rows("instrument_unknown", responses, or_(responses.c.instrument.is_(None), not_(known_instrument)), in_scope),
        select(
            literal("duplicate_response").label("check"),
            duplicates.c.patient_id,
            func.sum(duplicates.c.copies - 1).label("n"),
        ).group_by(duplicates.c.patient_id),
    ]
    return union_all(*parts)


def data_quality(
    engine: Engine,
    viewer: Viewer,
    now: datetime,
    settings: Settings,
    patient_id: int | None = None,
    scored: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per check that found something (COLUMNS): how many patients and rows,
    and the patient codes (all in the viewer's scope), in CHECKS order. ``scored``: the
    one patient's responses as the patient page read and scored them (not read again)."""
    in_scope = select(patients.c.id).where(patient_filter(viewer, now))
    if patient_id is not None:
        in_scope = in_scope.where(patients.c.id == patient_id)
    with engine.connect() as conn:
        found = pd.read_sql(row_checks(viewer, now, engine.dialect.name, patient_id), conn)
        if scored is None:
            scored = scored_responses(conn, in_scope, now, settings)
        codes = dict(conn.execute(select(patients.c.id, patients.c.code).where(patients.c.id.in_(in_scope))).all())
    # Scoring problems other than an unknown instrument (counted above from SQL), and the
    # instruments' own rule: an answer not among its options. (A not-applicable item,
    # WSAS item 1 with no paid work, is a valid answer in the contract, not a problem.)
    kinds = {
        "scoring": scored["scoring_issue"],
        "option_invalid": scored["n_invalid_options"] > 0,
    }
    found = pd.concat(
        [found]
        + [
            scored[hit].groupby("patient_id").size().rename("n").reset_index().assign(check=k)
            for k, hit in kinds.items()
        ]
    )
    found = found[found["n"] > 0]
    if found.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows = []
    for check in CHECKS:
        hits = found[found["check"] == check.key].groupby("patient_id")["n"].sum()
        if hits.empty:
            continue
        rows.append(
            {
                "check": check.key,
                "problem": check.problem,
                "effect": check.effect,
                "patients": len(hits),
                "rows": int(hits.sum()),
                "codes": sorted(str(codes.get(int(p), "?")) for p in hits.index),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def summary(issues: pd.DataFrame) -> str:
    """One line for a page or a command-line tool."""
    if issues.empty:
        return ""
    patients_hit = len({c for codes in issues["codes"] for c in codes})
    kinds = ngettext("{n} kind", "{n} kinds", len(issues)).format(n=f"{len(issues):,}")
    hit = ngettext("{n} patient", "{n} patients", patients_hit).format(n=f"{patients_hit:,}")
    return _(
        "Data quality: {kinds} of problem in the platform records of {patients}; "
        "the rows concerned were left out or adjusted as shown."
    ).format(kinds=kinds, patients=hit)


# ---------------------------------------------------------------- operators: orphan rows


def orphan_counts(engine: Engine) -> dict[str, int]:
    """Platform-wide rows that point at a patient (or response) that does not exist."""
    known_patient = lambda t: exists().where(patients.c.id == t.c.patient_id)  # noqa: E731
    queries = {
        t.name: select(func.count()).select_from(t).where(not_(known_patient(t)))
        for t in (activity, responses, messages, module_progress)
    }
    queries["response_items"] = (
        select(func.count())
        .select_from(response_items)
        .where(not_(exists().where(responses.c.id == response_items.c.response_id)))
    )
    with engine.connect() as conn:
        return {name: int(conn.scalar(q)) for name, q in queries.items()}
