"""The triage queue: every flagged patient in the viewer's scope, most urgent
first, with reasons in words. The page and ``caseboard queue`` both
call ``triage_queue``, so they show the same queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine

from dashboard import flags as flag_engine
from dashboard.config import Settings
from dashboard.frames import per_patient
from dashboard.i18n import format_day
from dashboard.i18n import gettext as _
from dashboard.measures import score_words
from dashboard.responses import latest_per_patient
from dashboard.scope import Viewer
from dashboard.timeutil import DAY, UTC_ZONE, local_date

UNASSIGNED = "unassigned"
QUEUE_COLUMNS = [
    "patient_id",
    "code",
    "therapist",
    "flags",
    "reasons",
    "priority",
    "since",
    "waiting_days",
    "latest",
    "escalated",
    "paused_until",
]


@dataclass(frozen=True)
class Triage:
    queue: pd.DataFrame  # QUEUE_COLUMNS, one row per patient
    open_flags: pd.DataFrame  # flag rows still needing someone (with `escalated`)
    acknowledged: pd.DataFrame  # flag rows covered by an acknowledgement
    patients: pd.DataFrame  # the flag engine's patient inputs (for names and filters)
    responses: pd.DataFrame  # scored responses of the patients still open to flags (flags.open_to_flags; after the end PHQ-9 and primary only)
    followups: pd.DataFrame  # their current GP follow-ups (dashboard.clinician_records), read once for the due list too
    concerns: pd.DataFrame | None  # supporters' concerns of these patients, read once for the supporter's statuses too


def triage(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    now: datetime,
    settings: Settings,
    therapist: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
    kinds: frozenset[str] | None = None,
) -> Triage:
    """The viewer's queue; ``therapist`` (a display name or UNASSIGNED) narrows a
    team lead's queue to one caseload. ``tz``, the service time zone, names the days
    shown (reasons, latest score) and ends a GP's pause with its local day. ``kinds``:
    only these reasons (a peer supporter's list, dashboard.peer_support)."""
    inputs = flag_engine.load_inputs(platform, viewer, now, settings, state=state)
    patients = inputs.patients.assign(therapist=inputs.patients["therapist"].fillna(UNASSIGNED))
    judged, open_flags = judge(inputs, now, settings, tz)
    if kinds is not None:
        judged, open_flags = judged[judged["flag"].isin(kinds)], open_flags[open_flags["flag"].isin(kinds)]
    if therapist is not None:
        keep = set(patients.loc[patients["therapist"] == therapist, "patient_id"])
        open_flags = open_flags[open_flags["patient_id"].isin(keep)]
    queue = flag_engine.rank_patients(open_flags, patients)
    paused = flag_engine.pauses(inputs.followups, local_date(now, tz))
    return Triage(
        _decorate(queue, patients, inputs.responses, paused, now, tz),
        open_flags,
        judged[judged["acked_at"].notna()],
        patients,
        inputs.responses,
        inputs.followups,
        inputs.concerns,
    )


def judge(
    inputs: flag_engine.FlagInputs, now: datetime, settings: Settings, tz: ZoneInfo
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every flag with its acknowledgement, the open ones with ``escalated``): the queue's
    one definition, also what a kept Caseload snapshot re-judges for a patient whose
    acknowledgements or follow-ups changed (dashboard.team_snapshot)."""
    judged = flag_engine.evaluate(inputs, now, settings, tz)  # acknowledgements applied
    open_flags = judged[judged["acked_at"].isna()].copy()
    open_flags["escalated"] = flag_engine.escalated(open_flags, now, settings)
    return judged, open_flags


def _decorate(
    queue: pd.DataFrame, patients: pd.DataFrame, responses: pd.DataFrame, paused: dict, now: datetime, tz: ZoneInfo
) -> pd.DataFrame:
    if queue.empty:
        return pd.DataFrame(columns=QUEUE_COLUMNS)
    therapists = per_patient(patients, "therapist")
    now_ts, ids = pd.Timestamp(now), queue["patient_id"].tolist()
    texts = _latest_primary_text(responses[responses["patient_id"].isin(ids)], patients, tz)
    return queue.assign(
        therapist=[therapists.get(pid) for pid in ids],
        waiting_days=[int((now_ts - pd.Timestamp(s)) // DAY) for s in queue["since"]],
        latest=[texts.get(pid) or _("no valid score yet") for pid in ids],
        paused_until=[paused.get(pid) for pid in ids],
    )[QUEUE_COLUMNS]


def _latest_primary_text(responses: pd.DataFrame, patients: pd.DataFrame, tz: ZoneInfo) -> dict[int, str]:
    """patient_id -> '14 · moderate (PHQ-9, 12 Nov)' (measures.score_words), from the already-scored responses
    (the day in the service time zone, as every day shown)."""
    if responses.empty:
        return {}
    primary = responses["patient_id"].map(per_patient(patients, "primary_instrument"))
    latest = latest_per_patient(responses[responses["valid"] & (responses["instrument"] == primary)])
    return {
        pid: score_words(i, s, format_day(local_date(t, tz), year=False), escalated=bool(e), not_applicable=bool(na))
        for pid, s, i, t, e, na in zip(
            latest["patient_id"].tolist(),
            latest["score"].tolist(),
            latest["instrument"].tolist(),
            latest["administered_at"].tolist(),
            latest["escalated"].tolist(),
            latest["not_applicable"].tolist(),
        )
    }


def flag_counts(open_flags: pd.DataFrame) -> dict[str, int]:
    """Patients per flag, in priority order."""
    counts = open_flags.groupby("flag")["patient_id"].nunique()
    return {k: int(counts.get(k, 0)) for k in flag_engine.FLAG_KINDS}


def ranked(rows: pd.DataFrame, open_flags: pd.DataFrame) -> pd.DataFrame:
    """My patients' default order: patients with open flags in the triage queue's
    order (flags.urgency: risk grade, escalated, waiting), then the rest by code."""
    urgent, last = flag_engine.patient_urgency(open_flags), (float("inf"),)
    order = sorted(
        range(len(rows)), key=lambda i: (urgent.get(rows["patient_id"].iat[i], last), str(rows["code"].iat[i]))
    )
    return rows.iloc[order].reset_index(drop=True)


def why_text(reasons: list[str], flags: list[str], paused_until=None) -> str:
    """A queue row's "Why" that fits its cell: the most urgent reason in full, then the
    other reasons by name (a lead's rows ran to 200 characters and were cut off mid-word
    exactly where the second reason began); the row's form shows every reason in full."""
    text = reasons[0] if reasons else ""
    others = [flag_engine.title(f) for f in flags[1:]]
    if others:
        text += _(" · also: {reasons}").format(reasons=", ".join(others))
    if paused_until is not None and not pd.isna(paused_until):
        text += _(" · paused by the GP until {day}").format(day=format_day(paused_until))
    return text
