"""GP brief follow-ups: validated, stored exactly once, corrected only by their
author with the history kept (append-only versions in ``dash_followups``)."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import audit, i18n
from dashboard.clinician_records import ACTIONS, current_followups  # noqa: F401 (callers read them here too)
from dashboard.config import DEFAULTS
from dashboard.facts import of_own_programme
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.patient import find_patient_by_id
from dashboard.schema import modules, patients
from dashboard.scope import Viewer
from dashboard.state_tables import followups as table
from dashboard.text import control_problem
from dashboard.timeutil import local_date

UTC_ZONE = ZoneInfo("UTC")
MODALITIES = ("face-to-face", "phone", "video")  # stored codes
#: The words shown for each modality (translated where shown).
MODALITY_LABELS = {"face-to-face": N_("face-to-face"), "phone": N_("phone"), "video": N_("video")}
NOTE_MAX_CHARS = 1000
MINUTES_RANGE = (1, 120)
PHQ9_RANGE = (0, 27)


@dataclass(frozen=True)
class FollowupForm:
    held_on: date
    minutes: int
    modality: str
    module_position: int | None
    clinic_phq9: int | None
    action: str
    pause_until: date | None
    next_on: date | None
    note: str = ""


class FollowupRefused(ValueError):
    """Nothing was stored. ``errors`` maps a form field to what is wrong with it
    (the page shows each message next to its field)."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def enrolment_bound(enrolled_on: date | None, today: date) -> date | None:
    """The earliest date a follow-up may have: the enrolment date, unless the platform
    left it missing or put it in the future (bad data), when no bound is checked
    rather than refusing every follow-up (``ENROLMENT_UNCHECKED`` says so)."""
    return enrolled_on if enrolled_on is not None and enrolled_on <= today else None


ENROLMENT_UNCHECKED = N_(
    "The platform has no usable enrolment date for this patient (missing or in the future), "
    "so the follow-up date is not checked against it."
)


def validate(
    form: FollowupForm,
    enrolled_on: date | None,
    today: date,
    n_modules: int,
    max_pause_weeks: float = DEFAULTS["max_pause_weeks"],
) -> dict[str, str]:
    """Field -> message for every rule the form breaks (empty when valid)."""
    errors: dict[str, str] = {}
    earliest = enrolment_bound(enrolled_on, today)
    if form.held_on > today:
        errors["held_on"] = _("The follow-up date cannot be in the future (today is {today}).").format(
            today=i18n.format_day(today)
        )
    elif earliest is not None and form.held_on < earliest:
        errors["held_on"] = _("The follow-up date cannot be before enrolment ({date}).").format(
            date=i18n.format_day(earliest)
        )
    if not MINUTES_RANGE[0] <= form.minutes <= MINUTES_RANGE[1]:
        errors["minutes"] = _("Minutes must be between {low} and {high}.").format(
            low=MINUTES_RANGE[0], high=MINUTES_RANGE[1]
        )
    if form.modality not in MODALITIES:
        errors["modality"] = _("Choose one of: {options}.").format(
            options=", ".join(_(MODALITY_LABELS[m]) for m in MODALITIES)
        )
    if form.module_position is not None and not 1 <= form.module_position <= n_modules:
        errors["module_position"] = i18n.ngettext(
            "The module must be the programme's {n} module.",
            "The module must be one of the programme's {n} modules.",
            n_modules,
        ).format(n=n_modules)
    if form.clinic_phq9 is not None and not PHQ9_RANGE[0] <= form.clinic_phq9 <= PHQ9_RANGE[1]:
        errors["clinic_phq9"] = _("A PHQ-9 total is between 0 and 27.")
    if form.action not in ACTIONS:
        errors["action"] = _("Choose one of: {options}.").format(options=", ".join(_(a) for a in ACTIONS.values()))
    if form.action == "pause":
        if form.pause_until is None:
            errors["pause_until"] = _("A pause needs an end date.")
        elif form.pause_until <= form.held_on:
            errors["pause_until"] = _("The pause must end after the follow-up date.")
        elif form.pause_until > (longest := latest_pause_end(form.held_on, max_pause_weeks)):
            errors["pause_until"] = i18n.ngettext(
                "A pause can last at most {weeks} week: until {date} at the latest.",
                "A pause can last at most {weeks} weeks: until {date} at the latest.",
                round(max_pause_weeks),
            ).format(weeks=i18n.format_number(max_pause_weeks), date=i18n.format_day(longest))
    elif form.pause_until is not None:
        errors["pause_until"] = _("An end date belongs only to a pause.")
    if form.next_on is not None and form.next_on <= form.held_on:
        errors["next_on"] = _("The next follow-up must be after this one.")
    if len(form.note) > NOTE_MAX_CHARS:
        errors["note"] = _("The note is {n} characters; at most {most}.").format(
            n=i18n.format_number(len(form.note)), most=i18n.format_number(NOTE_MAX_CHARS)
        )
    elif problem := control_problem(form.note, _("The note"), multiline=True):
        # PostgreSQL cannot store NUL: refused here, before the note reaches a query (dashboard.text)
        errors["note"] = problem
    return errors


def latest_pause_end(held_on: date, max_pause_weeks: float) -> date:
    return held_on + timedelta(weeks=max_pause_weeks)


def _checked_patient(platform: Engine, viewer: Viewer, patient_id: int):
    if viewer.role != "gp":
        raise FollowupRefused({"patient": _("Only GPs log follow-ups.")})
    patient = find_patient_by_id(platform, viewer, patient_id)
    if patient is None:
        raise FollowupRefused({"patient": _("No such patient in your caseload.")})
    return patient


def _n_modules(platform: Engine, patient_id: int) -> int:
    with platform.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(modules.join(patients, of_own_programme()))
                .where(patients.c.id == patient_id)
            )
            or 0
        )


def log_followup(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    form: FollowupForm,
    idempotency_key: str,
    now: datetime,
    tz: ZoneInfo = UTC_ZONE,
    max_pause_weeks: float = DEFAULTS["max_pause_weeks"],
) -> str:
    """Store a new follow-up and its audit row in one transaction; returns the
    entry id. The same ``idempotency_key`` again (a double click, a resubmitted
    form) stores nothing and returns the first entry."""
    patient = _checked_patient(platform, viewer, patient_id)
    errors = validate(
        form,
        local_date(patient.enrolled_at, tz),
        local_date(now, tz),
        _n_modules(platform, patient_id),
        max_pause_weeks,
    )
    if errors:
        raise FollowupRefused(errors)
    entry_id = str(uuid.uuid4())
    row = {
        **asdict(replace(form, note=form.note.strip())),
        "entry_id": entry_id,
        "version": 1,
        "idempotency_key": idempotency_key,
        "patient_id": patient_id,
        "gp": viewer.username,
        "withdrawn": False,
        "change_reason": None,
        "recorded_at": now,
        "recorded_by": viewer.username,
    }
    row["note"] = row["note"] or None
    try:
        with state.begin() as conn:
            conn.execute(insert(table).values(**row))
            audit.record_in(conn, viewer.username, "followup", patient_id, entry=entry_id, gp_action=form.action)
    except IntegrityError:
        existing = _entry_for_key(state, idempotency_key)
        if existing is None:
            raise
        return existing
    return entry_id


def _entry_for_key(state: Engine, key: str) -> str | None:
    with state.connect() as conn:
        return conn.scalar(select(table.c.entry_id).where(table.c.idempotency_key == key))


def _latest_version(state: Engine, entry_id: str) -> dict | None:
    with state.connect() as conn:
        row = conn.execute(
            select(table).where(table.c.entry_id == entry_id).order_by(table.c.version.desc()).limit(1)
        ).first()
    return None if row is None else dict(row._mapping)


def _new_version(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    entry_id: str,
    changes: dict,
    reason: str,
    idempotency_key: str,
    now: datetime,
    tz: ZoneInfo,
    action: str,
    max_pause_weeks: float = DEFAULTS["max_pause_weeks"],
) -> None:
    current = _latest_version(state, entry_id)
    if current is None or current["gp"] != viewer.username:
        # the same words whether the entry is missing or someone else's
        raise FollowupRefused({"entry": _("No such follow-up of yours.")})
    if current["withdrawn"]:
        raise FollowupRefused({"entry": _("This follow-up was withdrawn; log a new one instead.")})
    patient = _checked_patient(platform, viewer, current["patient_id"])
    if not reason.strip():
        raise FollowupRefused({"change_reason": _("Say why the entry changes (kept in its history).")})
    if problem := control_problem(reason, _("The reason"), multiline=True):
        raise FollowupRefused({"change_reason": problem})
    row = {k: v for k, v in current.items() if k != "id"}
    row.update(changes)
    if action == "followup_correction":
        form = FollowupForm(**{k: row[k] for k in FollowupForm.__dataclass_fields__} | {"note": row["note"] or ""})
        errors = validate(
            form,
            local_date(patient.enrolled_at, tz),
            local_date(now, tz),
            _n_modules(platform, current["patient_id"]),
            max_pause_weeks,
        )
        if errors:
            raise FollowupRefused(errors)
    row.update(
        version=current["version"] + 1,
        idempotency_key=idempotency_key,
        change_reason=reason.strip(),
        recorded_at=now,
        recorded_by=viewer.username,
    )
    try:
        with state.begin() as conn:
            conn.execute(insert(table).values(**row))
            audit.record_in(
                conn, viewer.username, action, current["patient_id"], entry=entry_id, version=row["version"]
            )
    except IntegrityError:
        if _entry_for_key(state, idempotency_key) == entry_id:
            return  # the same correction submitted twice
        raise FollowupRefused(
            {"entry": _("Someone changed this entry at the same time; reload and try again.")}
        ) from None


def correct_followup(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    entry_id: str,
    form: FollowupForm,
    reason: str,
    idempotency_key: str,
    now: datetime,
    tz: ZoneInfo = UTC_ZONE,
    max_pause_weeks: float = DEFAULTS["max_pause_weeks"],
) -> None:
    changes = asdict(replace(form, note=form.note.strip()))
    changes["note"] = changes["note"] or None
    _new_version(
        platform,
        state,
        viewer,
        entry_id,
        changes,
        reason,
        idempotency_key,
        now,
        tz,
        "followup_correction",
        max_pause_weeks,
    )


def withdraw_followup(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    entry_id: str,
    reason: str,
    idempotency_key: str,
    now: datetime,
    tz: ZoneInfo = UTC_ZONE,
) -> None:
    _new_version(
        platform, state, viewer, entry_id, {"withdrawn": True}, reason, idempotency_key, now, tz, "followup_withdrawal"
    )


def history(state: Engine, entry_id: str) -> pd.DataFrame:
    with state.connect() as conn:
        return pd.read_sql(
            select(table).where(table.c.entry_id == entry_id).order_by(table.c.version),
            conn,
            parse_dates=["recorded_at"],
        )
