"""NHS-style outcomes of finished courses: recovery, reliable improvement, reliable
recovery and deterioration (clinical-reference 3), per programme and per therapist."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection

from dashboard.caseload.shared import Filters, Rate, _t, scope_conditions
from dashboard.config import Settings
from dashboard.facts import (
    contacts_between,
    finished_between,
    modules_completed,
)
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS
from dashboard.outcomes import (
    DEFAULT_ANXIETY,
    AnxietyPlan,
    Pair,
    anxiety_plan,
    episode_window,
    follow_up_window,
    maintained,
)
from dashboard.responses import scored_responses
from dashboard.schema import patients, programs
from dashboard.scope import Viewer

OUTCOME_RATES = ("recovery", "reliable_improvement", "reliable_recovery", "reliable_deterioration")


OUTCOME_LABELS = {  # English column codes of the outcome tables; translated where shown
    "recovery": N_("Recovery"),
    "reliable_improvement": N_("Reliable improvement"),
    "reliable_recovery": N_("Reliable recovery"),
    "reliable_deterioration": N_("Reliable deterioration"),
}


# Published national figures (clinical-reference 3.4 and 3.6), shown beside the rates.
NATIONAL = {
    "recovery": (0.518, "NHS Talking Therapies, June 2020 [S8]"),
    "reliable_improvement": (0.691, "NHS Talking Therapies, June 2020 [S8]"),
    "reliable_recovery": (0.484, "NHS Talking Therapies, April 2025 [S19]"),
}


def _sessions(settings: Settings):
    """Attended treatment sessions in the episode (clinical-reference 3.1, CONFIG)."""
    if settings.treatment_session_event == "clinician_message":
        return contacts_between(patients.c.enrolled_at, patients.c.ended_at)
    return modules_completed(patients.c.ended_at)


def finished_episodes(
    conn: Connection, viewer: Viewer, f: Filters, settings: Settings, since: datetime
) -> pd.DataFrame:
    """Episodes ended (completed or withdrawn) between ``since`` and the period end,
    with their sessions and NHS outcome where PHQ-9 and the anxiety measure are both
    paired: the programme's ADSM when configured, GAD-7 when it is not or when the
    course has no ADSM pair (clinical-reference 3.3). ``anxiety_measure`` names the
    instrument each paired outcome used. ``followed_up``: both measures of the pair have a
    valid score in the follow-up window by the period end; ``improvement_maintained``: a
    reliable improvement at the end still one at follow-up (outcomes.maintained), None where
    there was none to maintain or no follow-up."""
    ended = finished_between(_t(since), _t(f.end))
    episodes = pd.read_sql(
        select(
            patients.c.id.label("patient_id"),
            patients.c.program_id,
            patients.c.therapist_id,
            patients.c.enrolled_at,
            patients.c.ended_at,
            _sessions(settings).label("sessions"),
        ).where(*scope_conditions(viewer, f), ended),
        conn,
        parse_dates=["enrolled_at", "ended_at"],
    )
    episodes = episodes[episodes["sessions"] >= settings.finished_course_min_sessions].copy()
    columns = [
        "patient_id",
        "program_id",
        "therapist_id",
        "ended_at",
        "paired",
        *OUTCOME_RATES,
        "case_start",
        "anxiety_measure",
        "followed_up",
        "improvement_maintained",
    ]
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    plans = programme_plans(conn, settings)
    adsms = sorted({p.measure.code for p in plans.values() if p.uses_adsm})
    ids = select(patients.c.id).where(*scope_conditions(viewer, f), ended)
    measures = ("PHQ9", DEFAULT_ANXIETY, *adsms)  # the NHS pair and the ADSMs in use (3.3)
    scored = scored_responses(conn, ids, f.end, settings, instruments=measures)
    scored = scored[scored["valid"]]
    window = scored.merge(episodes[["patient_id", "enrolled_at", "ended_at"]], on="patient_id")
    after = follow_up_window(window["ended_at"], settings)
    assert after is not None  # every finished episode has an end
    later = window[(window["administered_at"] >= after[0]) & (window["administered_at"] <= after[1])]
    later = later.sort_values(["administered_at", "response_id"]).groupby(["patient_id", "instrument"])["score"].last()
    follow_up: dict[int, dict[str, float]] = {}
    for (pid, code), score in later.items():
        follow_up.setdefault(pid, {})[code] = float(score)
    start, end = episode_window(window["enrolled_at"], window["ended_at"], settings)
    window = window[(window["administered_at"] >= start) & (window["administered_at"] <= end)]
    window = window.sort_values(["administered_at", "response_id"])
    stats = window.groupby(["patient_id", "instrument"])["score"].agg(first="first", last="last", n="size")
    stats = stats[stats["n"] >= 2]  # paired: first and last of at least two (3.1)
    pairs: dict[int, dict[str, Pair]] = {}
    for (pid, code), first, last in zip(stats.index, stats["first"], stats["last"]):
        pairs.setdefault(pid, {})[code] = (float(first), float(last))
    rows = []
    strict = bool(settings.deterioration_requires_no_improvement)
    unmapped = anxiety_plan(None, settings)
    for e in episodes.itertuples(index=False):
        out = {
            "patient_id": e.patient_id,
            "program_id": e.program_id,
            "therapist_id": e.therapist_id,
            "ended_at": e.ended_at,
            "paired": False,
            "case_start": None,
            "anxiety_measure": None,
            **{k: None for k in OUTCOME_RATES},
        }
        kept = maintained(
            plans.get(int(e.program_id), unmapped), pairs.get(e.patient_id, {}), follow_up.get(e.patient_id, {}), strict
        )
        out.update(followed_up=kept.assessable, improvement_maintained=kept.reliable_improvement)
        paired = kept.end
        if paired is not None:
            o = paired.outcome
            out.update(
                paired=True,
                case_start=o.case_start,
                anxiety_measure=paired.anxiety.code,
                recovery=o.recovery,
                reliable_improvement=o.reliable_improvement,
                reliable_recovery=o.reliable_recovery,
                reliable_deterioration=o.reliable_deterioration,
            )
        rows.append(out)
    return pd.DataFrame(rows, columns=columns)


def programme_plans(conn: Connection, settings: Settings) -> dict[int, AnxietyPlan]:
    """Each programme's anxiety measure by id (the programmes table holds no patient data)."""
    return {int(r.id): anxiety_plan(r.code, settings) for r in conn.execute(select(programs.c.id, programs.c.code))}


def outcome_rates(episodes: pd.DataFrame, min_cell: int) -> dict[str, Rate]:
    """clinical-reference 3.4: recovery and reliable recovery over paired courses at
    caseness at the start; reliable improvement and deterioration over all paired courses."""
    paired = episodes[episodes["paired"].astype(bool)]
    at_case = paired[paired["case_start"].astype(bool)]

    def count(frame: pd.DataFrame, col: str) -> int:
        return int(frame[col].astype(bool).sum())

    return {
        "recovery": Rate.of(count(at_case, "recovery"), len(at_case), min_cell),
        "reliable_improvement": Rate.of(count(paired, "reliable_improvement"), len(paired), min_cell),
        "reliable_recovery": Rate.of(count(at_case, "reliable_recovery"), len(at_case), min_cell),
        "reliable_deterioration": Rate.of(count(paired, "reliable_deterioration"), len(paired), min_cell),
    }


OUTCOME_COLUMNS = [
    "finished",
    "paired",
    "no_paired_scores",
    "not_at_caseness",
    "in_progress",
    "anxiety_measure",
    "anxiety_courses",
    *[f"{k}_{part}" for k in OUTCOME_RATES for part in ("numerator", "denominator", "rate")],
    "follow_up_courses",
    "followed_up",
    *[f"improvement_maintained_{part}" for part in ("numerator", "denominator", "rate")],
]


def follow_up_since(f: Filters, settings: Settings) -> datetime:
    """The earliest end of a course whose follow-up window is open in the period: the
    follow-up figures are over courses ended ``follow_up_to_weeks`` before the period start
    up to ``follow_up_from_weeks`` before its end (follow_up_courses), since a course that
    ended in the period has seldom reached its 3-month follow-up by the period end."""
    return f.start - timedelta(weeks=float(settings.follow_up_to_weeks))


def follow_up_courses(episodes: pd.DataFrame, f: Filters, settings: Settings) -> pd.DataFrame:
    """Of ``finished_episodes`` since follow_up_since, those whose follow-up window opened by the period end."""
    opened_by = pd.Timestamp(f.end) - pd.Timedelta(weeks=float(settings.follow_up_from_weeks))
    ended = pd.to_datetime(episodes["ended_at"])
    return episodes[(ended >= pd.Timestamp(follow_up_since(f, settings))) & (ended <= opened_by)]


def maintained_rate(episodes: pd.DataFrame, min_cell: int) -> Rate:
    """Reliable improvement maintained at follow-up (issue 20) over the courses reliably
    improved at the end with both measures at follow-up; suppressed like every rate."""
    judged = episodes["improvement_maintained"].dropna()
    return Rate.of(int(judged.astype(bool).sum()), len(judged), min_cell)


def anxiety_measure_text(courses: dict[str, int], planned: AnxietyPlan | None) -> str:
    """Which anxiety measure a row's rates used (clinical-reference 3.3): the measure's name
    when every paired course used one, else each with its courses, GAD-7 called the back-up
    where the programme's measure is an ADSM; without paired courses, the planned measure."""
    adsm_planned = planned is not None and planned.uses_adsm
    if not courses:
        return planned.measure.name if planned is not None else INSTRUMENTS[DEFAULT_ANXIETY].name
    first = planned.measure.code if planned is not None else None
    order = sorted(courses, key=lambda code: (code != first, -courses[code], code))
    labels = {
        code: _("{name} back-up").format(name=INSTRUMENTS[code].name)
        if adsm_planned and code == DEFAULT_ANXIETY
        else INSTRUMENTS[code].name
        for code in order
    }
    if len(order) == 1 and not (adsm_planned and order[0] == DEFAULT_ANXIETY):
        return labels[order[0]]
    return " · ".join(f"{labels[code]} {courses[code]}" for code in order)


def outcome_table(
    episodes: pd.DataFrame,
    in_progress: pd.Series,
    key: str,
    names: dict,
    min_cell: int,
    plans: Mapping[int, AnxietyPlan] | None = None,
    later: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per ``key`` value (programme or therapist) with every rate's parts and the
    anxiety measure they used (``plans``: the programmes' planned measures, by row key);
    the follow-up columns count ``later`` (follow_up_courses; ``episodes`` when None)."""
    later = episodes if later is None else later
    rows = []
    for value in sorted(
        set(names) | set(episodes[key].dropna()) | set(later[key].dropna()) | set(in_progress.index),
        key=lambda v: str(names.get(v, v)),
    ):
        mine = episodes[episodes[key] == value]
        paired = mine[mine["paired"].astype(bool)]
        courses = {str(code): int(n) for code, n in paired["anxiety_measure"].value_counts().items()}
        row = {
            key: value,
            "name": names.get(value, _("unassigned") if value == -1 else str(value)),
            "finished": len(mine),
            "paired": len(paired),
            "no_paired_scores": len(mine) - len(paired),
            "not_at_caseness": int((~paired["case_start"].astype(bool)).sum()),
            "in_progress": int(in_progress.get(value, 0)),
            "anxiety_measure": anxiety_measure_text(courses, (plans or {}).get(value)),
            "anxiety_courses": courses,
        }
        followed = later[later[key] == value]
        rates = {**outcome_rates(mine, min_cell), "improvement_maintained": maintained_rate(followed, min_cell)}
        for k, r in rates.items():
            row.update({f"{k}_numerator": r.numerator, f"{k}_denominator": r.denominator, f"{k}_rate": r.rate})
        row["follow_up_courses"] = len(followed)
        row["followed_up"] = int(followed["followed_up"].astype(bool).sum())
        rows.append(row)
    return pd.DataFrame(rows, columns=[key, "name", *OUTCOME_COLUMNS])
