"""Follow-ups due: the GP's patients who completed a module after the date of
their last logged follow-up (or since enrolment), and the GP's planned ones."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, and_, select

from dashboard import i18n
from dashboard.config import Settings
from dashboard.facts import in_treatment, of_own_programme
from dashboard.flags import patient_urgency
from dashboard.frames import per_patient, read_frame, records
from dashboard.i18n import gettext as _
from dashboard.measures import display_score, score_words
from dashboard.outcomes import episode_window
from dashboard.schema import module_progress, modules, patients
from dashboard.scope import Viewer, role_patient_ids, scope_params
from dashboard.statements import NOW, prepared
from dashboard.timeutil import DAY, local_date
from dashboard.triage import triage

URGENT_FLAGS = frozenset({"risk", "peer_concern", "deterioration"})  # put a patient ahead of the longest wait
DUE_COLUMNS = [
    "patient_id",
    "code",
    "status",
    "enrolled_on",
    "modules_finished",
    "latest_module",
    "waiting_since",
    "waiting_days",
    "overdue",
    "latest",
    "change",
    "risk",
    "concern",
    "deterioration",
    "last_followup",
]


@dataclass(frozen=True)
class DueList:
    due: pd.DataFrame  # DUE_COLUMNS, most urgent first
    planned: pd.DataFrame  # the GP's "next follow-up" dates still ahead: code, next_on, held_on
    followups: pd.DataFrame  # the viewer's own current follow-ups ("Your follow-ups"), with the patient's code


def completions(platform: Engine, viewer: Viewer, now: datetime) -> pd.DataFrame:
    """Completed modules of the viewer's patients (their own programme's), up to now."""
    with platform.connect() as conn:
        return read_frame(
            conn, _completions_statement(viewer.role), {"now": now, **scope_params(viewer, now)}, ("completed_at",)
        )


@prepared
def _completions_statement(role: str):
    return (
        select(module_progress.c.patient_id, modules.c.position, modules.c.title, module_progress.c.completed_at)
        .select_from(
            module_progress.join(modules, modules.c.id == module_progress.c.module_id).join(
                patients, and_(patients.c.id == module_progress.c.patient_id, of_own_programme())
            )
        )
        .where(
            module_progress.c.patient_id.in_(role_patient_ids(role)),
            module_progress.c.completed_at.is_not(None),
            module_progress.c.completed_at <= NOW,
        )
    )


def last_followups(followups: pd.DataFrame) -> dict[int, date]:
    """patient_id -> the date of their latest current follow-up by any GP (a patient
    who changed GP: the new GP's clock starts at the old GP's last visit)."""
    return followups.groupby("patient_id")["held_on"].max().to_dict() if not followups.empty else {}


def after_followup(ts, last_held: date | None, tz: ZoneInfo) -> bool:
    """Whether ``ts`` (naive UTC) happened since the last follow-up: on a later local day
    than its date (a follow-up is logged by day), or at all when there is none yet."""
    return last_held is None or local_date(ts, tz) > last_held


def due_list(
    platform: Engine, state: Engine, viewer: Viewer, now: datetime, settings: Settings, tz: ZoneInfo
) -> DueList:
    result = triage(platform, state, viewer, now, settings, tz=tz)
    facts = result.patients
    now_ts, today = pd.Timestamp(now), local_date(now, tz)
    keep_until = facts["ended_at"] + pd.Timedelta(days=settings.followup_after_end_days)
    open_now = [in_treatment(s, e) for s, e in zip(facts["status"], facts["ended_at"])]
    facts = facts[
        pd.Series(open_now, index=facts.index, dtype=bool) | (facts["ended_at"].notna() & (keep_until >= now_ts))
    ]
    done: dict[int, list] = defaultdict(list)
    for c in records(completions(platform, viewer, now), ["patient_id", "position", "title", "completed_at"]):
        done[c.patient_id].append(c)
    held = result.followups  # triage read them for the gp_action and pause rules
    last_held = last_followups(held)
    flagged: dict[int, set] = defaultdict(set)
    for pid, flag in zip(result.open_flags["patient_id"].tolist(), result.open_flags["flag"].tolist()):
        flagged[pid].add(flag)
    scores = _primary_scores(result.responses, facts, settings)
    rows = []
    for p in records(facts, ["patient_id", "code", "status", "primary_instrument", "enrolled_at"]):
        since = last_held.get(p.patient_id)
        mine = [c for c in done.get(p.patient_id, []) if after_followup(c.completed_at, since, tz)]
        if not mine:
            continue
        first = min(c.completed_at for c in mine)
        flags = flagged[p.patient_id]
        latest, change = _score_and_change(scores.get(p.patient_id), p.primary_instrument)
        rows.append(
            {
                "patient_id": p.patient_id,
                "code": p.code,
                "status": p.status,
                "enrolled_on": local_date(p.enrolled_at, tz),
                "modules_finished": _finished(mine),
                "latest_module": int(max(c.position for c in mine)),
                "waiting_since": first,
                "waiting_days": int((now_ts - first) // DAY),
                "overdue": (now_ts - first) >= pd.Timedelta(days=settings.followup_overdue_days),
                "latest": latest,
                "change": change,
                "risk": "risk" in flags,
                "concern": "peer_concern" in flags,  # a supporter's concern (dashboard.concerns)
                "deterioration": "deterioration" in flags,
                "last_followup": since,
            }
        )
    due = pd.DataFrame(rows, columns=DUE_COLUMNS)
    if not due.empty:
        # Risk and deterioration first, in the queue's order (flags.urgency); then the longest wait.
        urgent = patient_urgency(result.open_flags, URGENT_FLAGS)
        order = sorted(
            range(len(due)),
            key=lambda i: (
                urgent.get(due["patient_id"].iat[i], (float("inf"),)),
                -due["waiting_days"].iat[i],
                str(due["code"].iat[i]),
            ),
        )
        due = due.iloc[order].reset_index(drop=True)
    codes = result.patients.set_index("patient_id")["code"]
    # Any GP's follow-up restarts the clock above (a patient who changed GP); the
    # viewer's list and plans are their own entries only.
    held = held[held["gp"] == viewer.username] if not held.empty else held
    held = held.assign(code=held["patient_id"].map(codes))
    planned = held[held["next_on"].notna()] if not held.empty else held
    if not planned.empty:
        planned = planned[[d >= today for d in planned["next_on"]]]
        planned = planned.assign(code=planned["patient_id"].map(codes)).sort_values("next_on")[
            ["code", "next_on", "held_on"]
        ]
    return DueList(
        due,
        planned.reset_index(drop=True) if not planned.empty else pd.DataFrame(columns=["code", "next_on", "held_on"]),
        held,
    )


def _primary_scores(responses: pd.DataFrame, facts: pd.DataFrame, settings: Settings) -> dict[int, tuple]:
    """patient_id -> (baseline, latest, count) of valid programme-measure scores in the episode."""
    if responses.empty:
        return {}
    enrolled = pd.to_datetime(responses["patient_id"].map(per_patient(facts, "enrolled_at")))
    start = episode_window(enrolled, None, settings)[0]
    ended = per_patient(facts, "ended_at")
    window_end = [episode_window(None, _present_or_none(ended.get(p)), settings)[1] for p in responses["patient_id"]]
    at = responses["administered_at"]
    before_end = pd.Series([e is None or a <= e for a, e in zip(at, window_end)], index=responses.index, dtype=bool)
    primary = responses["patient_id"].map(per_patient(facts, "primary_instrument"))
    in_episode = (at >= start) & before_end  # an open episode has no end yet
    keep = responses["valid"] & (responses["instrument"] == primary) & in_episode
    ordered = responses[keep].sort_values(["patient_id", "administered_at", "response_id"])
    scores: dict[int, list] = defaultdict(list)
    for r in records(ordered, ["patient_id", "score", "escalated", "not_applicable"]):
        scores[r.patient_id].append(r)
    return {pid: (s[0], s[-1], len(s)) for pid, s in scores.items()}


def _present_or_none(ts) -> pd.Timestamp | None:
    return None if ts is None or pd.isna(ts) else pd.Timestamp(ts)


def _score_and_change(scores: tuple | None, instrument: str) -> tuple[str, str]:
    """'14 · moderate (PHQ-9)' (measures.score_words) and '-5 since baseline' on the programme's measure."""
    if scores is None:
        return _("no valid score yet"), ""
    first, last, n = scores
    text = score_words(instrument, last.score, escalated=bool(last.escalated), not_applicable=bool(last.not_applicable))
    change = display_score(last.score) - display_score(first.score)
    return text, (_("{change} since baseline").format(change=f"{change:+d}") if n > 1 else _("baseline only"))


def _finished(mine: list) -> str:
    """'module 3 · Thoughts and feelings' or '4 modules, latest 5 · Problem solving'."""
    last = max(mine, key=lambda c: c.position)
    if len(mine) == 1:
        return _("module {position} · {title}").format(position=last.position, title=last.title)
    return i18n.ngettext(
        "{n} module, latest {position} · {title}", "{n} modules, latest {position} · {title}", len(mine)
    ).format(n=len(mine), position=last.position, title=last.title)
