"""Follow-ups due: the GP's patients who completed a module after the date of
their last logged follow-up (or since enrolment), and the GP's planned ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, and_, select

from dashboard.config import Settings
from dashboard.flags import in_treatment
from dashboard.measures import INSTRUMENTS, band_label, display_score
from dashboard.schema import module_progress, modules, patients
from dashboard.scope import Viewer, scoped_patient_ids
from dashboard.timeutil import DAY
from dashboard.triage import triage

DUE_COLUMNS = ["patient_id", "code", "status", "modules_finished", "latest_module", "waiting_since", "waiting_days",
               "overdue", "latest", "change", "risk", "deterioration", "last_followup"]


@dataclass(frozen=True)
class DueList:
    due: pd.DataFrame  # DUE_COLUMNS, most urgent first
    planned: pd.DataFrame  # the GP's "next follow-up" dates still ahead: code, next_on, held_on
    followups: pd.DataFrame  # current follow-ups of the GP's patients


def local_date(ts, tz: ZoneInfo):
    return pd.Timestamp(ts).to_pydatetime().replace(tzinfo=timezone.utc).astimezone(tz).date()


def completions(platform: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Completed modules of the viewer's patients (their own programme's), up to now."""
    stmt = (
        select(module_progress.c.patient_id, modules.c.position, modules.c.title, module_progress.c.completed_at)
        .select_from(module_progress.join(modules, modules.c.id == module_progress.c.module_id)
                     .join(patients, and_(patients.c.id == module_progress.c.patient_id,
                                          patients.c.program_id == modules.c.program_id)))
        .where(module_progress.c.patient_id.in_(scoped_patient_ids(viewer)),
               module_progress.c.completed_at.is_not(None), module_progress.c.completed_at <= now)
    )
    with platform.connect() as conn:
        return pd.read_sql(stmt, conn, parse_dates=["completed_at"])


def due_list(platform: Engine, state: Engine, viewer: Viewer, now: datetime, settings: Settings,
             tz: ZoneInfo) -> DueList:
    result = triage(platform, state, viewer, now, settings)
    facts = result.patients
    now_ts, today = pd.Timestamp(now), local_date(now, tz)
    keep_until = facts["ended_at"] + pd.Timedelta(days=settings.followup_after_end_days)
    open_now = [in_treatment(s, e) for s, e in zip(facts["status"], facts["ended_at"])]
    facts = facts[pd.Series(open_now, index=facts.index, dtype=bool) | (facts["ended_at"].notna() & (keep_until >= now_ts))]
    done = completions(platform, viewer, now)
    held = result.followups  # triage read them for the gp_action and pause rules
    last_held = held.groupby("patient_id")["held_on"].max() if not held.empty else pd.Series(dtype=object)
    flagged = result.open_flags.groupby("patient_id")["flag"].agg(set)
    done_by_patient = dict(tuple(done.groupby("patient_id")))
    primary = result.responses.merge(facts[["patient_id", "primary_instrument", "enrolled_at"]], on="patient_id")
    start = primary["enrolled_at"] - pd.Timedelta(days=settings.baseline_window_days)
    primary = primary[(primary["instrument"] == primary["primary_instrument"]) & primary["valid"]
                      & (primary["administered_at"] >= start)].sort_values(["administered_at", "response_id"])
    scores = primary.groupby("patient_id").agg(first=("score", "first"), last=("score", "last"), n=("score", "size"))
    rows = []
    for p in facts.itertuples(index=False):
        mine = done_by_patient.get(p.patient_id)
        if mine is None:
            continue
        since = last_held.get(p.patient_id)
        if since is not None:
            mine = mine[[local_date(t, tz) > since for t in mine["completed_at"]]]
        if mine.empty:
            continue
        first = mine["completed_at"].min()
        flags = flagged.get(p.patient_id, set())
        latest, change = _score_and_change(scores, p)
        rows.append({
            "patient_id": p.patient_id, "code": p.code, "status": p.status,
            "modules_finished": _finished(mine), "latest_module": int(mine["position"].max()),
            "waiting_since": first, "waiting_days": int((now_ts - first) // DAY),
            "overdue": (now_ts - first) >= pd.Timedelta(days=settings.followup_overdue_days),
            "latest": latest, "change": change, "risk": "risk" in flags, "deterioration": "deterioration" in flags,
            "last_followup": since,
        })
    due = pd.DataFrame(rows, columns=DUE_COLUMNS)
    if not due.empty:
        due = due.assign(_urgent=due["risk"] | due["deterioration"]).sort_values(
            ["_urgent", "waiting_days", "code"], ascending=[False, False, True]).drop(columns="_urgent").reset_index(drop=True)
    codes = result.patients.set_index("patient_id")["code"]
    held = held.assign(code=held["patient_id"].map(codes))
    planned = held[held["next_on"].notna()] if not held.empty else held
    if not planned.empty:
        planned = planned[[d >= today for d in planned["next_on"]]]
        planned = planned.assign(code=planned["patient_id"].map(codes)).sort_values("next_on")[["code", "next_on", "held_on"]]
    return DueList(due, planned.reset_index(drop=True) if not planned.empty else pd.DataFrame(columns=["code", "next_on", "held_on"]),
                   held)


def _score_and_change(scores: pd.DataFrame, p) -> tuple[str, str]:
    """'14 · moderate (PHQ-9)' and '-5 since baseline' on the programme's measure."""
    if p.patient_id not in scores.index:
        return "no valid score yet", ""
    first, last, n = scores.loc[p.patient_id, ["first", "last", "n"]]
    band = band_label(p.primary_instrument, last)
    name = INSTRUMENTS[p.primary_instrument].name if p.primary_instrument in INSTRUMENTS else p.primary_instrument
    text = f"{display_score(last)}" + (f" · {band}" if band else "") + f" ({name})"
    return text, (f"{display_score(last) - display_score(first):+d} since baseline" if n > 1 else "baseline only")


def _finished(mine: pd.DataFrame) -> str:
    """'module 3 · Thoughts and feelings' or '4 modules, latest 5 · Problem solving'."""
    last = mine.sort_values("position").iloc[-1]
    if len(mine) == 1:
        return f"module {last['position']} · {last['title']}"
    return f"{len(mine)} modules, latest {last['position']} · {last['title']}"
