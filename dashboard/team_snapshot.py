"""A team's Caseload for the default period, kept ahead of the page (issue 17).

``build`` computes a team's default-period Caseload at ``as_of`` exactly as the page
does for a lead of that team (``caseload.caseload`` with the lead's current triage
queue) and stores it in ``dash_team_snapshots``; ``caseboard refresh`` builds one per
team every ``team_snapshot_every_seconds``. The page shows it with its "as of" when it was
made today for the same settings, zone and instrument registry and is at most
``team_snapshot_max_age_seconds`` old; any other period or filter is computed live.

What the state database holds stays live (``current``): when a follow-up,
acknowledgement or withdrawal of the team's patients was stored after ``as_of`` (the
team's state version differs), GP compliance is counted again from its platform inputs
kept at ``as_of`` (``GpInputs``) and the follow-ups of now, and the patients whose
rows changed are judged again at ``as_of`` (``triage.judge``, their acknowledgements
and follow-ups as they are now), their open items replacing the stored ones before
counting. Platform rows that arrived after ``as_of`` wait for the next build: the
figures equal the live computation at ``as_of`` with today's state rows.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from dashboard import flags
from dashboard import triage as triage_mod
from dashboard.caseload import UNASSIGNED_ID, Caseload, Filters, caseload, filtered_flags, period, with_triage_flags
from dashboard.caseload.gp_compliance import GpInputs, gp_inputs, gp_table, held_followups
from dashboard.caseload.page import in_language
from dashboard.config import Settings
from dashboard.logs import log_event
from dashboard.measures import INSTRUMENTS
from dashboard.quality import data_quality
from dashboard.schema import teams
from dashboard.scope import Viewer
from dashboard.state_tables import team_snapshots
from dashboard.state_version import changed_since, state_version, viewer_patient_ids
from dashboard.timeutil import local_date

# Bump when the payload's form or a figure's definition changes: older snapshots then
# no longer match any page's hash and are rebuilt.
SNAPSHOT_VERSION = 4  # 2: the outcome tables name their anxiety measure (clinical-reference 3.3); 3: at follow-up;
# 4: no words kept (issue 21): the headline's raw "detail", its labels, notes and the definitions made where shown
# Settings no figure of the Caseload depends on (sessions, caching, the triage page's
# own refresh): changing them keeps the kept snapshots. Every other setting is hashed.
NOT_FIGURES = frozenset(
    {
        "idle_timeout_minutes",
        "idle_check_seconds",
        "max_failed_logins",
        "login_lockout_minutes",
        "max_cookie_hours",
        "statement_timeout_seconds",
        "cache_ttl_seconds",
        "demo_max_age_hours",
        "min_cookie_key_bytes",
        "risk_note_min_chars",
        "queue_refresh_seconds",
        "team_snapshot_max_age_seconds",
        "team_snapshot_every_seconds",
        "refresh_every_seconds",
    }
)
FRAMES = tuple(f.name for f in fields(Caseload) if f.name not in ("filters", "team", "definitions"))
# Patients with writes since the build judged again one by one at read time; beyond this
# many (a batch import of follow-ups, say) the page computes live until the next build.
MAX_REJUDGED = 200
VERSION_COLUMNS = ("followups_version", "acks_version", "withdrawals_version", "concerns_version")


@dataclass(frozen=True)
class Snapshot:
    team_id: int
    as_of: datetime
    first_day: date
    last_day: date
    settings_hash: str
    version: tuple[int, int, int, int]  # dashboard.state_version of the team's patients at as_of
    caseload: Caseload
    built_ms: int
    gp: GpInputs  # GP compliance's platform inputs at as_of, recounted with the follow-ups of now
    quality: pd.DataFrame  # the page's data-quality note at as_of (dashboard.quality.data_quality)


def settings_hash(settings: Settings, tz: ZoneInfo) -> str:
    """What made the figures: every setting they depend on, the service zone, the
    instrument registry (a service's DASHBOARD_INSTRUMENTS file changes bands,
    caseness and reliable change) and SNAPSHOT_VERSION."""
    values = {k: v for k, v in sorted(settings.values.items()) if k not in NOT_FIGURES}
    registry = [repr(INSTRUMENTS[code]) for code in sorted(INSTRUMENTS)]
    made_by = {"settings": values, "zone": tz.key, "instruments": registry, "version": SNAPSHOT_VERSION}
    return hashlib.sha256(json.dumps(made_by, sort_keys=True).encode()).hexdigest()


def lead_of(team_id: int) -> Viewer:
    """A lead of this team: the Caseload's scope depends on the role and team alone (dashboard.scope)."""
    return Viewer(0, f"team-{team_id}-snapshot", "team snapshot", "team_lead", team_id)


def default_days(now: datetime, settings: Settings, tz: ZoneInfo) -> tuple[date, date]:
    """The page's default reporting period at ``now``: whole local days, ending today."""
    today = local_date(now, tz)
    return today - timedelta(days=int(settings.report_period_days)), today


# ---------------------------------------------------------------- building


def build(platform: Engine, state: Engine, team_id: int, now: datetime, settings: Settings, tz: ZoneInfo) -> Snapshot:
    """Compute the team's default-period Caseload at ``now`` as the page would, and store it."""
    started = time.perf_counter()
    viewer = lead_of(team_id)
    # read before the figures: a write made while they are computed is judged again at page time
    version = state_version(state, viewer_patient_ids(platform, viewer))
    first, last = default_days(now, settings, tz)
    start, end = period(first, last, now, tz, int(settings.report_period_days))
    queue = triage_mod.triage(platform, state, viewer, now, settings, None, tz)
    f = Filters(start, end, None, None, None)
    result = caseload(platform, state, viewer, f, settings, tz, queue)
    with platform.connect() as conn:
        gp = gp_inputs(conn, viewer, f, tz)
    quality = data_quality(platform, viewer, now, settings)
    elapsed = int((time.perf_counter() - started) * 1000)
    snap = Snapshot(team_id, now, first, last, settings_hash(settings, tz), version, result, elapsed, gp, quality)
    store(state, snap)
    return snap


def team_ids(platform: Engine) -> list[int]:
    with platform.connect() as conn:
        return sorted(int(i) for i in conn.scalars(select(teams.c.id)))


def build_due(
    platform: Engine,
    state: Engine,
    now: datetime,
    settings: Settings,
    tz: ZoneInfo,
    every_seconds: float,
    force: bool = False,
    still_leased: Callable[[], bool] = lambda: True,
) -> list[Snapshot]:
    """Build the snapshot of every team whose kept one is older than ``every_seconds``,
    was made for other settings, or missing (every team when ``force``). Before each
    team it asks ``still_leased`` (the refresher renews its lease) and stops on False."""
    kept = {row.team_id: row for row in _heads(state)}
    wanted = settings_hash(settings, tz)
    due = [
        t
        for t in team_ids(platform)
        if force
        or t not in kept
        or kept[t].settings_hash != wanted
        or (now - kept[t].as_of).total_seconds() >= every_seconds
    ]
    built = []
    for team in due:
        if not still_leased():
            break
        built.append(build(platform, state, team, now, settings, tz))
    return built


def _heads(state: Engine) -> list:
    c = team_snapshots.c
    with state.connect() as conn:
        return list(conn.execute(select(c.team_id, c.as_of, c.settings_hash)))


# ---------------------------------------------------------------- storing


def _frame_json(frame: pd.DataFrame) -> dict:
    """A frame as plain JSON, column by column with its exact dtype (pandas' own table form
    took 40 ms a frame to read back). Datetimes as ISO text; NaN stays NaN (Python's
    json writes and reads it), pandas' NA and NaT become null."""
    data = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype.kind == "M":
            data.append([None if pd.isna(v) else v.isoformat() for v in values])
        else:
            data.append([None if v is pd.NA or v is pd.NaT else v for v in values.tolist()])
    return {"columns": list(frame.columns), "dtypes": [str(t) for t in frame.dtypes], "data": data}


def _frame_of(stored: dict) -> pd.DataFrame:
    """The frame as it was built: every column in its dtype, so the page reads what the
    live path makes (gaps in an object column stay None, the figures' "no value")."""
    columns = {}
    for column, dtype, values in zip(stored["columns"], stored["dtypes"], stored["data"]):
        if dtype.startswith("datetime64"):
            columns[column] = pd.to_datetime(pd.Series(values, dtype=object)).astype(dtype)
        else:
            columns[column] = pd.Series(values, dtype=object if dtype == "object" else dtype)
    return pd.DataFrame(columns, columns=stored["columns"])


# Columns of words a frame carries, made again in the reader's language (caseload.in_language).
WORDS = {"headline": ("label", "note"), "workload": ("reasons",)}


def _without_words(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """A frame as kept: its words blanked (the figures stay; no language is stored)."""
    columns = [c for c in WORDS.get(name, ()) if c in frame.columns]
    named = {"workload": "therapist", "outcomes_by_therapist": "name"}.get(name)
    if named and not frame.empty and "therapist_id" in frame:  # "unassigned": words too
        frame = frame.assign(
            **{named: [None if t == UNASSIGNED_ID else n for t, n in zip(frame["therapist_id"], frame[named])]}
        )
    return frame.assign(**{c: None for c in columns}) if columns else frame


def dumps(result: Caseload, gp: GpInputs, quality: pd.DataFrame) -> str:
    """The Caseload, GP compliance's inputs and the data-quality note as JSON text, each
    frame with its dtypes (``_frame_json``)."""
    f = result.filters
    return json.dumps(
        {
            "quality": _frame_json(quality),
            "gp": {
                "gps": _frame_json(gp.gps),
                "done": _frame_json(gp.done),
                "names": [[k, v] for k, v in gp.names.items()],
            },
            "filters": {
                "start": f.start.isoformat(),
                "end": f.end.isoformat(),
                "program_id": f.program_id,
                "therapist_id": f.therapist_id,
            },
            "team": result.team,
            "frames": {name: _frame_json(_without_words(name, getattr(result, name))) for name in FRAMES},
        }
    )


def loads(text: str) -> tuple[Caseload, GpInputs, pd.DataFrame]:
    data = json.loads(text)
    g = data["gp"]
    gp = GpInputs(_frame_of(g["gps"]), _frame_of(g["done"]), {int(k): v for k, v in g["names"]})
    fl = data["filters"]
    filters = Filters(
        datetime.fromisoformat(fl["start"]), datetime.fromisoformat(fl["end"]), fl["program_id"], fl["therapist_id"]
    )
    frames = {name: _frame_of(body) for name, body in data["frames"].items()}
    result = Caseload(filters=filters, team=data["team"], **frames)  # words: caseload.in_language
    return result, gp, _frame_of(data["quality"])


def store(state: Engine, snap: Snapshot) -> None:
    """Upsert the team's row (one per team)."""
    row = {
        "team_id": snap.team_id,
        "as_of": snap.as_of,
        "first_day": snap.first_day,
        "last_day": snap.last_day,
        "settings_hash": snap.settings_hash,
        **dict(zip(VERSION_COLUMNS, snap.version)),
        "payload": dumps(snap.caseload, snap.gp, snap.quality),
        "built_ms": snap.built_ms,
    }
    with state.begin() as conn:
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(team_snapshots)
        conn.execute(
            insert.values(**row).on_conflict_do_update(
                index_elements=["team_id"], set_={k: v for k, v in row.items() if k != "team_id"}
            )
        )


def load(state: Engine, team_id: int) -> Snapshot | None:
    """The team's snapshot, or None when there is none or its payload cannot be read (one
    written by another version: the page computes live and the next build replaces it)."""
    with state.connect() as conn:
        row = conn.execute(select(team_snapshots).where(team_snapshots.c.team_id == team_id)).first()
    if row is None:
        return None
    try:
        result, gp, quality = loads(row.payload)
    except (KeyError, TypeError, ValueError) as exc:
        log_event("team_snapshot_unreadable", logging.WARNING, error=type(exc).__name__)
        return None
    return Snapshot(
        int(row.team_id),
        row.as_of,
        row.first_day,
        row.last_day,
        row.settings_hash,
        tuple(int(getattr(row, c)) for c in VERSION_COLUMNS),
        result,
        int(row.built_ms),
        gp,
        quality,
    )


# ---------------------------------------------------------------- reading


def usable(snap, now: datetime, first: date, last: date, settings: Settings, tz: ZoneInfo) -> bool:
    """May the page show this snapshot (a ``Snapshot`` or its row's head: as_of, first_day,
    last_day, settings_hash) for the local days ``first``..``last`` at ``now``?
    Only for the default period as it stands today, made with these settings and zone,
    and at most ``team_snapshot_max_age_seconds`` old."""
    return (
        snap is not None
        and (first, last) == default_days(now, settings, tz) == (snap.first_day, snap.last_day)
        and snap.settings_hash == settings_hash(settings, tz)
        and timedelta(0) <= now - snap.as_of <= timedelta(seconds=float(settings.team_snapshot_max_age_seconds))
    )


def shown(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    now: datetime,
    first: date,
    last: date,
    settings: Settings,
    tz: ZoneInfo,
) -> tuple[Caseload, datetime, pd.DataFrame] | None:
    """(Caseload, as_of, data-quality note) from the viewer's team's snapshot for an
    unfiltered lead's view of the local days ``first``..``last``, when it may be shown
    (``usable``); else None: compute live."""
    if viewer.role != "team_lead" or viewer.team_id is None:
        return None
    c = team_snapshots.c
    with state.connect() as conn:  # decide on the small columns before reading the payload
        head = conn.execute(
            select(c.as_of, c.first_day, c.last_day, c.settings_hash).where(c.team_id == viewer.team_id)
        ).first()
    if not usable(head, now, first, last, settings, tz):
        return None
    snap = load(state, viewer.team_id)
    if snap is None:
        return None
    result = current(platform, state, snap, settings, tz)
    return None if result is None else (in_language(result, settings), snap.as_of, snap.quality)


def current(platform: Engine, state: Engine, snap: Snapshot, settings: Settings, tz: ZoneInfo) -> Caseload | None:
    """The snapshot's Caseload with the state database's parts as they are now: as kept when
    nothing of the team's was stored since ``as_of``, else GP compliance counted again and
    the changed patients' triage items judged again; None when more than MAX_REJUDGED
    patients changed (compute live)."""
    viewer = lead_of(snap.team_id)
    ids = viewer_patient_ids(platform, viewer)
    if state_version(state, ids) == snap.version:
        return snap.caseload
    changed = changed_since(state, ids, snap.version)
    if len(changed) > MAX_REJUDGED:
        return None
    result, at = snap.caseload, snap.as_of
    fresh = result.triage_flags.iloc[0:0]
    if changed:
        judged = pd.concat([open_flags_of(platform, state, viewer, p, at, settings, tz) for p in changed])
        with platform.connect() as conn:
            fresh = filtered_flags(conn, viewer, result.filters, judged)
    gp = gp_table(snap.gp, held_followups(state, snap.gp), result.filters, settings, tz)
    kept = result.triage_flags[~result.triage_flags["patient_id"].isin(changed)]
    items = pd.concat([kept, fresh], ignore_index=True) if not fresh.empty else kept
    return with_triage_flags(replace(result, gp_compliance=gp), items, settings)


def open_flags_of(
    platform: Engine, state: Engine, viewer: Viewer, patient_id: int, now: datetime, settings: Settings, tz: ZoneInfo
) -> pd.DataFrame:
    """One patient's open triage items at ``now``, as the queue judges them (``triage.judge``)."""
    inputs = flags.load_inputs(platform, viewer, now, settings, patient_id=patient_id, state=state)
    return triage_mod.judge(inputs, now, settings, tz)[1]
