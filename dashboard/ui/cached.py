"""Streamlit-cached wrappers of the data functions.

Every wrapper takes the viewer as an argument, so it is part of the cache key
and no cached result crosses users; the run's language is part of every key too
(``_cached``), since the domain returns words in it. The engine is passed as ``_engine`` (not
hashed); the database URL stands in for it in the key.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from dashboard import agenda as agenda_mod
from dashboard import caseload as caseload_mod
from dashboard import flags, followups_due, i18n, peer_support, quality, team_snapshot
from dashboard import my_patients as my_patients_data
from dashboard import patient as patient_data
from dashboard import triage as triage_mod
from dashboard.config import DEFAULTS, ConfigError, Settings, load_config
from dashboard.scope import Viewer
from dashboard.state_version import state_version, viewer_patient_ids
from dashboard.timeutil import utc_midnight, utcnow


def cache_ttl() -> float:
    """The ``cache_ttl_seconds`` setting, read when a wrapper is first called."""
    try:
        return float(load_config().settings.cache_ttl_seconds)
    except ConfigError:  # the entry point shows the configuration error itself
        return float(DEFAULTS["cache_ttl_seconds"])


def _cached(max_entries: int, show_spinner: bool | str = False) -> Callable[[Callable], Callable]:
    """``st.cache_data`` with the configured TTL, applied on the first call rather than
    at import, so importing this module reads no configuration. Streamlit keys the
    cache by the function itself, so building the wrapper twice (two first calls at
    once) shares one cache."""

    def decorate(fn: Callable) -> Callable:
        made: list[Callable] = []
        # The domain returns words (flag reasons, outcome words) in the run's language, so
        # the language is part of every key: a cached result never crosses languages. A
        # function that takes ``language`` itself is keyed by it already.
        keyed = "language" in inspect.signature(fn).parameters

        @functools.wraps(fn)  # Streamlit keys the cache by fn's name, source and parameters
        def in_language(*args, language: str, **kwargs):
            with i18n.language(language):
                return fn(*args, **kwargs)

        def wrapper() -> Callable:
            if not made:
                cache = st.cache_data(ttl=cache_ttl(), max_entries=max_entries, show_spinner=show_spinner)
                made.append(cache(fn if keyed else in_language))
            return made[0]

        @functools.wraps(fn)
        def call(*args, **kwargs):
            if keyed:
                return wrapper()(*args, **kwargs)
            return wrapper()(*args, language=i18n.current_language(), **kwargs)

        call.clear = lambda *args, **kwargs: wrapper().clear(*args, **kwargs)
        return call

    return decorate


@_cached(max_entries=500)
def patient_ids(_platform: Engine, db_url: str, viewer: Viewer) -> list[int]:
    """The viewer's patient ids, for ``writes``: a new patient shows within the TTL, as every platform row does."""
    return viewer_patient_ids(_platform, viewer)


def writes(platform: Engine, state: Engine, db_url: str, viewer: Viewer, patient_id: int | None = None) -> tuple:
    """The state version (dashboard.state_version) of the viewer's patients, or of one
    patient: read at every run, never cached, and passed as ``version`` to the cached
    reads below, so anyone's follow-up or acknowledgement of these patients, in any
    session or app instance, is shown at the next run."""
    return state_version(state, [patient_id] if patient_id is not None else patient_ids(platform, db_url, viewer))


@_cached(max_entries=500)
def my_patients(_engine: Engine, db_url: str, viewer: Viewer, settings: Settings) -> tuple[pd.DataFrame, datetime]:
    """(patients, as_of): the frame and the time it was read, for the freshness line."""
    now = utcnow()
    return my_patients_data.my_patients(_engine, viewer, now, settings), now


@_cached(max_entries=500)
def data_quality(
    _engine: Engine,
    db_url: str,
    viewer: Viewer,
    settings: Settings,
    patient_id: int | None = None,
    _scored: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The viewer's (or one patient's) data-quality problems; keyed by viewer like every
    entry. ``_scored``: that patient's responses as their page read them (not hashed)."""
    return quality.data_quality(_engine, viewer, utcnow(), settings, patient_id, _scored)


class PatientPage(NamedTuple):
    """What a patient page shows, read once at ``as_of``: its reruns and its agenda reuse it."""

    rows: patient_data.RecordRows
    summary: pd.DataFrame  # the patient's My patients row
    judged: pd.DataFrame  # flags with their acknowledgement state
    as_of: datetime
    followups: pd.DataFrame  # current GP follow-ups (the pause, the table, the agenda)
    engagement: patient_data.Engagement
    supporters: list[tuple[str, datetime | None]]  # peer supporters on the care team, last contact


@_cached(max_entries=500)
def patient_page(
    _engine: Engine,
    _state: Engine,
    db_url: str,
    viewer: Viewer,
    patient: patient_data.Patient,
    settings: Settings,
    tz_name: str,
    version: tuple,
) -> PatientPage:
    """One patient the viewer may see, read once for the page and its agenda;
    ``tz_name`` names the days in the reasons."""
    now = utcnow()
    rows, summary, inputs = patient_data.load_page(_engine, viewer, patient, now, settings, _state)
    return PatientPage(
        rows,
        summary,
        flags.evaluate(inputs, now, settings, ZoneInfo(tz_name)),
        now,
        inputs.followups,
        patient_data.engagement(rows, patient.enrolled_at, now),
        peer_support.supporters(_engine, viewer, patient.patient_id, now),
    )


@_cached(max_entries=500)
def agenda(
    _platform: Engine,
    _state: Engine,
    db_url: str,
    viewer: Viewer,
    patient_id: int,
    settings: Settings,
    tz_name: str,
    version: tuple,
) -> agenda_mod.Agenda:
    """One patient's consultation agenda (refused outside the viewer's scope; a refusal
    is raised, never cached), assembled from the cached patient page of the same
    ``version`` (``writes`` of the patient): the page and its agenda read the record once."""
    patient = agenda_mod.allowed_patient(_platform, viewer, patient_id)
    page = patient_page(_platform, _state, db_url, viewer, patient, settings, tz_name, version)
    return agenda_mod.assemble(
        _platform, viewer, patient, page.rows, page.followups, page.judged, page.as_of, settings, ZoneInfo(tz_name)
    )


@_cached(max_entries=500)
def triage(
    _platform: Engine,
    _state: Engine,
    db_url: str,
    viewer: Viewer,
    settings: Settings,
    tz_name: str,
    therapist: str | None,
    version: tuple,
) -> tuple[triage_mod.Triage, datetime]:
    """(triage, as_of). ``version``: ``writes`` of the viewer's patients, so a new
    acknowledgement or follow-up by anyone is read at once without clearing other views.
    ``tz_name``: the service time zone's key, which names the days shown."""
    now = utcnow()
    return triage_mod.triage(_platform, _state, viewer, now, settings, therapist, ZoneInfo(tz_name)), now


@_cached(max_entries=500)
def contact_list(
    _platform: Engine, _state: Engine, db_url: str, viewer: Viewer, settings: Settings, tz_name: str, version: tuple
) -> tuple[peer_support.ContactList, datetime]:
    """(a peer supporter's "Who to contact today", as_of); keyed like ``triage``."""
    now = utcnow()
    return peer_support.contact_list(_platform, _state, viewer, now, settings, ZoneInfo(tz_name)), now


@_cached(max_entries=100)
def supporter_workload(
    _platform: Engine,
    _state: Engine,
    db_url: str,
    viewer: Viewer,
    settings: Settings,
    tz_name: str,
    first: date,
    version: tuple,
) -> pd.DataFrame:
    """The team's peer supporters for the lead's Caseload, replies counted from the local day ``first``."""
    tz = ZoneInfo(tz_name)
    return peer_support.supporter_workload(_platform, _state, viewer, utc_midnight(first, tz), utcnow(), settings, tz)


@_cached(max_entries=500)
def due_list(
    _platform: Engine, _state: Engine, db_url: str, viewer: Viewer, settings: Settings, tz_name: str, version: tuple
) -> tuple[followups_due.DueList, datetime]:
    """(the GP's follow-ups due, as_of)."""
    now = utcnow()
    return followups_due.due_list(_platform, _state, viewer, now, settings, ZoneInfo(tz_name)), now


@_cached(max_entries=100)
def caseload_options(_platform: Engine, db_url: str, viewer: Viewer) -> tuple[str, dict[int, str], dict[int, str]]:
    """(team name, programmes, therapists) for the Caseload page's filters."""
    with _platform.connect() as conn:
        return (
            caseload_mod.team_name(conn, viewer),
            caseload_mod.programme_names(conn, viewer),
            caseload_mod.therapist_names(conn, viewer),
        )


@_cached(max_entries=100, show_spinner="Counting the caseload…")
def caseload(
    _platform: Engine,
    _state: Engine,
    db_url: str,
    viewer: Viewer,
    settings: Settings,
    tz_name: str,
    first: date,
    last: date,
    program_id: int | None,
    therapist_id: int | None,
    cohort: tuple[date, date] | None,
    version: tuple,
) -> tuple[caseload_mod.Caseload, datetime, pd.DataFrame | None]:
    """(caseload, as_of, kept quality) for whole local days ``first``..``last``; a period
    ending today is as of now and includes the current triage queue. An unfiltered
    default period comes from the team's snapshot when one may be shown
    (dashboard.team_snapshot): as of its build, with the data-quality note kept with it
    (None when computed live: read ``data_quality``); ``version`` still keys it, so a
    follow-up or an acknowledgement counts at the next run."""
    now, tz = utcnow(), ZoneInfo(tz_name)
    if program_id is None and therapist_id is None and cohort is None:
        kept = team_snapshot.shown(_platform, _state, viewer, now, first, last, settings, tz)
        if kept is not None:
            return kept
    start, end = caseload_mod.period(first, last, now, tz, int(settings.report_period_days))
    window = None if cohort is None else (utc_midnight(cohort[0], tz), utc_midnight(cohort[1] + timedelta(days=1), tz))
    current = None
    if end == now:
        current, _ = triage(_platform, _state, db_url, viewer, settings, tz_name, None, version)
    f = caseload_mod.Filters(start, end, program_id, therapist_id, window)
    return caseload_mod.caseload(_platform, _state, viewer, f, settings, tz, current), now, None
