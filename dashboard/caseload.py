"""The team lead's Caseload figures: adherence, drop-out by module, workload,
outcomes, GP follow-up compliance and trends for a reporting period.

Every aggregate is a GROUP BY or window function in SQL over the viewer's scope
(``scope.patient_filter``), so only small frames come back. Two figures need
per-row rules that SQL cannot state portably and are finished in pandas over
already-small inputs: NHS outcomes (per-response scoring with proration,
``measures.score_responses``, over the finished episodes only) and GP follow-up
cycles (follow-ups live in the state database, which may be another server).
Definitions follow clinical-reference.md 3 and 5.1; each figure carries its
numerator and denominator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import DateTime, Engine, and_, case, exists, func, literal, or_, select, union_all
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import ColumnElement

from dashboard.config import Settings
from dashboard.facts import (LAST_ACTIVITY_INPUTS, activity_between, contact_between, contacts_between, ended_by,
                             finished_between, first_clinician_contact_after, last_activity_at, last_activity_columns,
                             modules_completed, of_own_programme, open_at, own_programme_progress, patient_message,
                             programme_module_count)
from dashboard.flags import FLAG_KINDS
from dashboard.clinician_records import ACTIONS, current_followups
from dashboard.outcomes import nhs_outcome
from dashboard.responses import scored_responses
from dashboard.schema import clinicians, messages, module_progress, modules, patients, programs, teams
from dashboard.scope import Viewer, patient_filter
from dashboard.sqltime import days_between, median_by, whole_days_between
from dashboard.timeutil import days_since, local_date, utc_midnight
from dashboard.triage import Triage

OUTCOME_RATES = ("recovery", "reliable_improvement", "reliable_recovery", "reliable_deterioration")
OUTCOME_LABELS = {
    "recovery": "Recovery",
    "reliable_improvement": "Reliable improvement",
    "reliable_recovery": "Reliable recovery",
    "reliable_deterioration": "Reliable deterioration",
}
# Published national figures (clinical-reference 3.4 and 3.6), shown beside the rates.
NATIONAL = {
    "recovery": (0.518, "NHS Talking Therapies, June 2020 [S8]"),
    "reliable_improvement": (0.691, "NHS Talking Therapies, June 2020 [S8]"),
    "reliable_recovery": (0.484, "NHS Talking Therapies, April 2025 [S19]"),
}
SESSION_DEFINITIONS = {
    "module_completed": "a completed module",
    "clinician_message": "a clinician message to the patient",
}


@dataclass(frozen=True)
class Filters:
    """The page's filters. ``cohort`` limits patients to an enrolment window."""

    start: datetime
    end: datetime
    program_id: int | None = None
    therapist_id: int | None = None
    cohort: tuple[datetime, datetime] | None = None

    @property
    def previous(self) -> Filters:
        """The same length immediately before, for "change"."""
        length = self.end - self.start
        return Filters(self.start - length, self.start, self.program_id, self.therapist_id, self.cohort)


def period(first: date | None, last: date | None, now: datetime, tz: ZoneInfo, default_days: int) -> tuple[datetime, datetime]:
    """(start, end) in naive UTC for whole local days ``first``..``last``; the end is
    capped at ``now`` so today's figures are as of now. Defaults: the last
    ``default_days`` ending now."""
    end = now if last is None else min(now, utc_midnight(last + timedelta(days=1), tz))
    start = end - timedelta(days=default_days) if first is None else utc_midnight(first, tz)
    if start >= end:
        raise ValueError(f"The period must start before it ends (from {first}, to {last}).")
    return start, end


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int
    rate: float | None  # None when the denominator is below the small-cell minimum (or zero)

    @classmethod
    def of(cls, numerator: int, denominator: int, min_cell: int = 1) -> Rate:
        suppressed = denominator == 0 or denominator < min_cell
        return cls(int(numerator), int(denominator), None if suppressed else numerator / denominator)


@dataclass(frozen=True)
class Caseload:
    filters: Filters
    team: str
    headline: pd.DataFrame  # HEADLINE_COLUMNS
    funnel: pd.DataFrame  # programme, position, title, eligible, started, share
    adherence: pd.DataFrame  # per programme: enrolled, ended, completers, ..., rates
    dropout_by_module: pd.DataFrame  # programme, position, title, dropouts
    module_days: pd.DataFrame  # programme, position, title, completions, median_days
    lapsed: pd.DataFrame  # open episodes with no activity for dropout_inactive_days (patient rows, in scope)
    workload: pd.DataFrame  # one row per therapist
    outcomes: pd.DataFrame  # per programme: finished, paired, rates (OUTCOME_COLUMNS)
    outcomes_by_therapist: pd.DataFrame
    gp_compliance: pd.DataFrame  # one row per GP
    trends: pd.DataFrame  # weekly
    definitions: dict[str, str] = field(default_factory=dict)


TREND_WEEKS = 26
HEADLINE_COLUMNS = ["figure", "label", "numerator", "denominator", "value", "previous", "unit", "note"]


# ---------------------------------------------------------------- shared SQL pieces


def _t(ts):
    """A timestamp parameter typed as DateTime, so SQLite gets its text format (a
    column passes through)."""
    return ts if isinstance(ts, ColumnElement) else literal(ts, DateTime)


def scope_conditions(viewer: Viewer, f: Filters) -> list[ColumnElement[bool]]:
    """The viewer's scope and the page's filters, as conditions on ``patients``."""
    out = [patient_filter(viewer)]
    if f.program_id is not None:
        out.append(patients.c.program_id == f.program_id)
    if f.therapist_id is not None:
        out.append(patients.c.therapist_id == f.therapist_id)
    if f.cohort is not None:
        out.append(patients.c.enrolled_at.between(_t(f.cohort[0]), _t(f.cohort[1])))
    return out


def _frame(conn: Connection, stmt, columns: list[str] | None = None) -> pd.DataFrame:
    frame = pd.read_sql(stmt, conn)
    return frame if columns is None else frame.reindex(columns=columns)


# ---------------------------------------------------------------- headline and workload inputs


def open_episode_counts(conn: Connection, viewer: Viewer, f: Filters, at: datetime, recent_days: int) -> pd.DataFrame:
    """Per therapist at ``at``: open episodes, those active and those contacted in the last ``recent_days``."""
    lo = at - timedelta(days=recent_days)
    stmt = (
        select(patients.c.therapist_id,
               func.count().label("open"),
               func.sum(case((activity_between(_t(lo), _t(at)), 1), else_=0)).label("active_recent"),
               func.sum(case((contact_between(_t(lo), _t(at)), 1), else_=0)).label("contacted_recent"))
        .where(*scope_conditions(viewer, f), open_at(_t(at)))
        .group_by(patients.c.therapist_id)
    )
    return _frame(conn, stmt, ["therapist_id", "open", "active_recent", "contacted_recent"])


def _reply_base(viewer: Viewer, f: Filters):
    """Patient messages sent in the period and the first clinician contact after each, up to the period end."""
    m = messages
    return (
        select(patients.c.therapist_id, m.c.sent_at, first_clinician_contact_after(m.c.sent_at, _t(f.end)).label("reply_at"))
        .select_from(m.join(patients, patients.c.id == m.c.patient_id))
        .where(*scope_conditions(viewer, f), patient_message(m), m.c.sent_at.between(_t(f.start), _t(f.end)))
        .subquery()
    )


UNASSIGNED_ID = -1  # the workload row of patients with no therapist


def _by_therapist(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(therapist_id=frame["therapist_id"].fillna(UNASSIGNED_ID).astype(int)) if not frame.empty else frame


_OVERALL = -2  # a group holding every row, so one query gives the per-therapist and the overall figures


def _with_overall(base, *columns: str):
    """``base`` rows twice: under their therapist (unassigned as -1) and under _OVERALL."""
    cols = [base.c[c] for c in columns]
    return union_all(
        select(func.coalesce(base.c.therapist_id, UNASSIGNED_ID).label("grp"), *cols),
        select(literal(_OVERALL).label("grp"), *cols),
    ).subquery()


def _split_overall(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    frame = frame.rename(columns={"grp": "therapist_id"})
    overall = frame[frame["therapist_id"] == _OVERALL]
    return (frame[frame["therapist_id"] != _OVERALL].reset_index(drop=True),
            overall.iloc[0].to_dict() if not overall.empty else {})


def reply_times(conn: Connection, viewer: Viewer, f: Filters) -> tuple[pd.DataFrame, dict]:
    """Patient messages sent in the period, those answered and the median reply in
    hours over the answered ones: per therapist, and overall (one query)."""
    both = _with_overall(_reply_base(viewer, f), "sent_at", "reply_at")
    hours = (days_between(both.c.reply_at, both.c.sent_at) * 24).label("hours")
    frame = _frame(conn, median_by(select(both.c.grp, hours), "hours", ["grp"]), ["grp", "median", "n", "rows"])
    frame = frame.rename(columns={"rows": "messages", "n": "answered", "median": "median_reply_hours"})
    by, overall = _split_overall(frame)
    return by[["therapist_id", "messages", "answered", "median_reply_hours"]], {
        "messages": int(overall.get("messages", 0)), "answered": int(overall.get("answered", 0)),
        "median_reply_hours": _nan_none(overall.get("median_reply_hours"))}


def feedback_within(conn: Connection, viewer: Viewer, f: Filters, hours: float) -> tuple[pd.DataFrame, dict]:
    """Module completions in the period old enough to judge (at least ``hours`` before
    its end), those with clinician contact within ``hours``, and the younger ones
    still pending: per therapist, and overall (one query)."""
    cutoff = f.end - timedelta(hours=hours)
    contact = first_clinician_contact_after(module_progress.c.completed_at, _t(f.end))
    base = (
        select(patients.c.therapist_id, module_progress.c.completed_at, contact.label("contact_at"))
        .select_from(module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(modules, own_programme_progress()))
        .where(*scope_conditions(viewer, f), module_progress.c.completed_at.between(_t(f.start), _t(f.end)))
        .subquery()
    )
    both = _with_overall(base, "completed_at", "contact_at")
    judged = both.c.completed_at <= _t(cutoff)
    in_time = and_(judged, both.c.contact_at.is_not(None), days_between(both.c.contact_at, both.c.completed_at) <= hours / 24)
    stmt = select(both.c.grp, func.sum(case((judged, 1), else_=0)).label("completions"),
                  func.sum(case((in_time, 1), else_=0)).label("in_time"),
                  func.sum(case((judged, 0), else_=1)).label("pending")).group_by(both.c.grp)
    by, overall = _split_overall(_frame(conn, stmt, ["grp", "completions", "in_time", "pending"]))
    return by, {k: int(overall.get(k, 0)) for k in ("completions", "in_time", "pending")}


# ---------------------------------------------------------------- adherence


def _patient_adherence(viewer: Viewer, f: Filters, settings: Settings):
    """One row per patient enrolled by the period end (in scope and filters): module
    counts, end state and whether they have lapsed, as of the period end."""
    at = f.end
    lapse_from = at - timedelta(days=settings.dropout_inactive_days)
    n_modules, n_completed = programme_module_count(), modules_completed(_t(at))
    last_started = (select(func.max(modules.c.position)).select_from(module_progress.join(modules, own_programme_progress()))
                    .where(module_progress.c.patient_id == patients.c.id, module_progress.c.started_at <= _t(at))
                    .scalar_subquery())
    return (
        select(patients.c.id.label("patient_id"), patients.c.program_id, patients.c.therapist_id,
               n_modules.label("n_modules"), n_completed.label("n_completed"), func.coalesce(last_started, 0).label("last_started"),
               case((ended_by(_t(at)), 1), else_=0).label("ended"),
               case((and_(ended_by(_t(at)), patients.c.status == "withdrawn"), 1), else_=0).label("withdrawn"),
               case((and_(open_at(_t(at)), ~activity_between(_t(lapse_from), _t(at))), 1), else_=0).label("lapsed"))
        .where(*scope_conditions(viewer, f), patients.c.enrolled_at <= _t(at))
        .subquery()
    )


def adherence(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per programme figures, drop-outs by the last module started)."""
    p = _patient_adherence(viewer, f, settings)
    full = and_(p.c.n_modules > 0, p.c.n_completed >= p.c.n_modules)
    eighty = and_(p.c.n_modules > 0, p.c.n_completed * 10 >= p.c.n_modules * 8)
    dropout = and_(~full, or_(p.c.withdrawn == 1, p.c.lapsed == 1))
    per_programme = select(
        p.c.program_id,
        func.count().label("enrolled"),
        func.sum(p.c.ended).label("ended"),
        func.sum(case((and_(p.c.ended == 1, full), 1), else_=0)).label("full_completers"),
        func.sum(case((and_(p.c.ended == 1, eighty), 1), else_=0)).label("completers_80"),
        func.sum(case((and_(p.c.withdrawn == 1, ~full), 1), else_=0)).label("withdrawn_early"),
        func.sum(case((and_(p.c.lapsed == 1, ~full), 1), else_=0)).label("lapsed_early"),
        func.sum(case((dropout, 1), else_=0)).label("dropouts"),
    ).group_by(p.c.program_id)
    by_module = (select(p.c.program_id, p.c.last_started.label("position"), func.count().label("dropouts"))
                 .where(dropout).group_by(p.c.program_id, p.c.last_started))
    return _frame(conn, per_programme), _frame(conn, by_module, ["program_id", "position", "dropouts"])


def funnel(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> pd.DataFrame:
    """Per programme and module k: patients counted for k (episode ended, or enrolled
    at least k x pace + grace days before the period end) and those who started k.
    Censoring keeps recent enrolments from looking like drop-outs."""
    at = f.end
    need_days = modules.c.position * settings.module_pace_days + settings.funnel_grace_days
    eligible = or_(ended_by(_t(at)), whole_days_between(_t(at), patients.c.enrolled_at) >= need_days)
    started = exists().where(module_progress.c.patient_id == patients.c.id, module_progress.c.module_id == modules.c.id,
                             module_progress.c.started_at <= _t(at))
    stmt = (
        select(modules.c.program_id, modules.c.position,
               func.sum(case((eligible, 1), else_=0)).label("eligible"),
               func.sum(case((and_(eligible, started), 1), else_=0)).label("started"))
        .select_from(patients.join(modules, of_own_programme()))
        .where(*scope_conditions(viewer, f), patients.c.enrolled_at <= _t(at))
        .group_by(modules.c.program_id, modules.c.position)
    )
    return _frame(conn, stmt, ["program_id", "position", "eligible", "started"])


def module_days(conn: Connection, viewer: Viewer, f: Filters) -> pd.DataFrame:
    """Median days from starting to completing each module, over completions by the period end."""
    days = days_between(module_progress.c.completed_at, module_progress.c.started_at).label("days")
    values = (
        select(modules.c.program_id, modules.c.position, days)
        .select_from(module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(modules, own_programme_progress()))
        .where(*scope_conditions(viewer, f), patients.c.enrolled_at <= _t(f.end),
               module_progress.c.completed_at <= _t(f.end), module_progress.c.completed_at >= module_progress.c.started_at)
    )
    frame = _frame(conn, median_by(values, "days", ["program_id", "position"]), ["program_id", "position", "median", "n"])
    return frame.rename(columns={"median": "median_days", "n": "completions"})


def lapsed_patients(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> pd.DataFrame:
    """Open episodes with no activity for ``dropout_inactive_days``: the service should
    close or re-engage them. Patient rows, in the viewer's scope only."""
    at = f.end
    lapse_from = at - timedelta(days=settings.dropout_inactive_days)
    therapist = aliased(clinicians)

    stmt = (
        select(patients.c.id.label("patient_id"), patients.c.code, programs.c.name.label("programme"),
               therapist.c.display_name.label("therapist"), patients.c.enrolled_at,
               modules_completed(_t(at)).label("modules_completed"), programme_module_count().label("modules_total"),
               *last_activity_columns(_t(at)))
        .select_from(patients.outerjoin(programs, programs.c.id == patients.c.program_id)
                     .outerjoin(therapist, therapist.c.id == patients.c.therapist_id))
        .where(*scope_conditions(viewer, f), open_at(_t(at)), ~activity_between(_t(lapse_from), _t(at)))
        .order_by(patients.c.code)
    )
    frame = pd.read_sql(stmt, conn, parse_dates=["enrolled_at", *LAST_ACTIVITY_INPUTS])
    frame["last_activity_at"] = last_activity_at(frame)
    frame["days_inactive"] = days_since(frame["last_activity_at"], at)
    frame["therapist"] = frame["therapist"].fillna("unassigned")
    return frame.sort_values(["days_inactive", "code"], ascending=[False, True])[
        ["patient_id", "code", "programme", "therapist", "enrolled_at", "modules_completed", "modules_total",
         "last_activity_at", "days_inactive"]].reset_index(drop=True)


# ---------------------------------------------------------------- outcomes


def _sessions(settings: Settings):
    """Attended treatment sessions in the episode (clinical-reference 3.1, CONFIG)."""
    if settings.treatment_session_event == "clinician_message":
        return contacts_between(patients.c.enrolled_at, patients.c.ended_at)
    return modules_completed(patients.c.ended_at)


def finished_episodes(conn: Connection, viewer: Viewer, f: Filters, settings: Settings, since: datetime) -> pd.DataFrame:
    """Episodes ended (completed or withdrawn) between ``since`` and the period end,
    with their sessions and NHS outcome where PHQ-9 and GAD-7 are both paired."""
    ended = finished_between(_t(since), _t(f.end))
    episodes = pd.read_sql(
        select(patients.c.id.label("patient_id"), patients.c.program_id, patients.c.therapist_id, patients.c.enrolled_at,
               patients.c.ended_at, _sessions(settings).label("sessions"))
        .where(*scope_conditions(viewer, f), ended), conn, parse_dates=["enrolled_at", "ended_at"])
    episodes = episodes[episodes["sessions"] >= settings.finished_course_min_sessions].copy()
    columns = ["patient_id", "program_id", "therapist_id", "ended_at", "paired", *OUTCOME_RATES, "case_start"]
    if episodes.empty:
        return pd.DataFrame(columns=columns)
    ids = select(patients.c.id).where(*scope_conditions(viewer, f), ended)
    scored = scored_responses(conn, ids, f.end, settings, instruments=("PHQ9", "GAD7"))  # the NHS pair (3.3)
    scored = scored[scored["valid"]]
    window = scored.merge(episodes[["patient_id", "enrolled_at", "ended_at"]], on="patient_id")
    start = window["enrolled_at"] - pd.Timedelta(days=settings.baseline_window_days)
    window = window[(window["administered_at"] >= start) & (window["administered_at"] <= window["ended_at"])]
    window = window.sort_values(["administered_at", "response_id"])
    pairs = window.groupby(["patient_id", "instrument"])["score"].agg(first="first", last="last", n="size").unstack("instrument")
    pairs.columns = [f"{stat}_{inst}" for stat, inst in pairs.columns]
    pairs = pairs.reindex(columns=[f"{stat}_{inst}" for stat in ("first", "last", "n") for inst in ("PHQ9", "GAD7")])
    rows = []
    strict = bool(settings.deterioration_requires_no_improvement)
    for e in episodes.merge(pairs, left_on="patient_id", right_index=True, how="left").itertuples(index=False):
        out = {"patient_id": e.patient_id, "program_id": e.program_id, "therapist_id": e.therapist_id,
               "ended_at": e.ended_at, "paired": False, "case_start": None, **{k: None for k in OUTCOME_RATES}}
        if e.n_PHQ9 >= 2 and e.n_GAD7 >= 2:  # NaN (no valid response) compares False
            o = nhs_outcome(e.first_PHQ9, e.last_PHQ9, e.first_GAD7, e.last_GAD7, strict)
            out.update(paired=True, case_start=o.case_start, recovery=o.recovery,
                       reliable_improvement=o.reliable_improvement, reliable_recovery=o.reliable_recovery,
                       reliable_deterioration=o.reliable_deterioration)
        rows.append(out)
    return pd.DataFrame(rows, columns=columns)


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


OUTCOME_COLUMNS = ["finished", "paired", "no_paired_scores", "not_at_caseness", "in_progress",
                   *[f"{k}_{part}" for k in OUTCOME_RATES for part in ("numerator", "denominator", "rate")]]


def outcome_table(episodes: pd.DataFrame, in_progress: pd.Series, key: str, names: dict, min_cell: int) -> pd.DataFrame:
    """One row per ``key`` value (programme or therapist) with every rate's parts."""
    rows = []
    for value in sorted(set(names) | set(episodes[key].dropna()) | set(in_progress.index), key=lambda v: str(names.get(v, v))):
        mine = episodes[episodes[key] == value]
        paired = mine[mine["paired"].astype(bool)]
        row = {key: value, "name": names.get(value, "unassigned" if value == -1 else str(value)),
               "finished": len(mine), "paired": len(paired), "no_paired_scores": len(mine) - len(paired),
               "not_at_caseness": int((~paired["case_start"].astype(bool)).sum()),
               "in_progress": int(in_progress.get(value, 0))}
        for k, r in outcome_rates(mine, min_cell).items():
            row.update({f"{k}_numerator": r.numerator, f"{k}_denominator": r.denominator, f"{k}_rate": r.rate})
        rows.append(row)
    return pd.DataFrame(rows, columns=[key, "name", *OUTCOME_COLUMNS])


# ---------------------------------------------------------------- GP follow-up compliance


def followup_cycles(completions: pd.DataFrame, held: pd.DataFrame) -> pd.DataFrame:
    """Follow-up cycles as the GP's due list sees them (dashboard.followups_due): a cycle starts
    at the first module completion after the last follow-up (a follow-up the same
    day covers it) and is closed by the next follow-up on or after that day.

    ``completions``: patient_id, day (local date). ``held``: patient_id, held_on.
    Returns patient_id, start, closed_on (NaT-like None when still open)."""
    if completions.empty:
        return pd.DataFrame({"patient_id": pd.Series(dtype="int64"), "start": pd.Series(dtype="datetime64[us]"),
                             "closed_on": pd.Series(dtype="datetime64[us]")})
    days = pd.DataFrame({"patient_id": completions["patient_id"].astype("int64"),
                         "day": pd.to_datetime(completions["day"]).astype("datetime64[us]")}).sort_values("day")
    fu = pd.DataFrame({"patient_id": held["patient_id"].astype("int64"),
                       "held_on": pd.to_datetime(held["held_on"]).astype("datetime64[us]")}).sort_values("held_on")
    # previous follow-up strictly before the completion day: the cycle it belongs to
    before = pd.merge_asof(days, fu.rename(columns={"held_on": "prev"}), left_on="day", right_on="prev",
                           by="patient_id", direction="backward", allow_exact_matches=False)
    before["prev"] = before["prev"].fillna(pd.Timestamp("1900-01-01"))  # no follow-up yet
    cycles = before.groupby(["patient_id", "prev"], as_index=False)["day"].min().rename(columns={"day": "start"})
    cycles = pd.merge_asof(cycles.sort_values("start"), fu.rename(columns={"held_on": "closed_on"}), left_on="start",
                           right_on="closed_on", by="patient_id", direction="forward")
    return cycles[["patient_id", "start", "closed_on"]]


def gp_compliance(conn: Connection, state: Engine, viewer: Viewer, f: Filters, settings: Settings,
                  tz: ZoneInfo) -> pd.DataFrame:
    """Per GP: follow-up cycles that started in the period, those held (and within
    ``followup_overdue_days``), still overdue, the median days to the follow-up and
    the actions taken at follow-ups held in the period."""
    gp_of = select(patients.c.id.label("patient_id"), patients.c.gp_id).where(*scope_conditions(viewer, f),
                                                                                 patients.c.gp_id.is_not(None))
    gps = _frame(conn, gp_of)
    # completions in the period, plus each patient's last one before it (it may open a cycle that spans the start)
    in_period = (select(module_progress.c.patient_id, module_progress.c.completed_at)
                 .select_from(module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(modules, own_programme_progress()))
                 .where(*scope_conditions(viewer, f), patients.c.gp_id.is_not(None),
                        module_progress.c.completed_at.between(_t(f.start), _t(f.end))))
    last_before = (select(module_progress.c.patient_id, func.max(module_progress.c.completed_at).label("completed_at"))
                   .select_from(module_progress.join(patients, patients.c.id == module_progress.c.patient_id).join(modules, own_programme_progress()))
                   .where(*scope_conditions(viewer, f), patients.c.gp_id.is_not(None), module_progress.c.completed_at < _t(f.start))
                   .group_by(module_progress.c.patient_id))
    done = pd.concat([pd.read_sql(in_period, conn, parse_dates=["completed_at"]),
                      pd.read_sql(last_before, conn, parse_dates=["completed_at"])], ignore_index=True)
    held = current_followups(state, [int(i) for i in gps["patient_id"]]) if not gps.empty else pd.DataFrame(
        columns=["patient_id", "held_on", "action", "gp"])
    start_day, end_day = local_date(f.start, tz), local_date(f.end, tz)
    done = done.assign(day=[local_date(t, tz) for t in done["completed_at"]])[["patient_id", "day"]].drop_duplicates()
    cycles = followup_cycles(done, held[held["held_on"] <= end_day] if not held.empty else held)
    cycles = cycles[(cycles["start"] >= pd.Timestamp(start_day)) & (cycles["start"] <= pd.Timestamp(end_day))]
    cycles = cycles.merge(gps, on="patient_id")
    cycles["days"] = (cycles["closed_on"] - cycles["start"]).dt.days
    overdue = settings.followup_overdue_days
    end_ts = pd.Timestamp(end_day)
    names = _gp_names(conn, viewer, gps)
    held_in_period = held[(held["held_on"] >= start_day) & (held["held_on"] <= end_day)].merge(gps, on="patient_id") \
        if not held.empty else pd.DataFrame(columns=["gp_id", "action"])
    closed = cycles["closed_on"].notna()
    by_gp = cycles.assign(
        held=closed, held_in_time=closed & (cycles["days"] <= overdue),
        overdue=~closed & ((end_ts - cycles["start"]).dt.days >= overdue)).groupby("gp_id")
    actions = held_in_period.groupby(["gp_id", "action"]).size().unstack(fill_value=0) \
        if not held_in_period.empty else pd.DataFrame()
    table = pd.DataFrame({
        "gp_id": list(names), "gp": list(names.values()),
        "patients": [int(v) for v in gps.groupby("gp_id").size().reindex(list(names), fill_value=0)],
        "due": by_gp.size().reindex(list(names), fill_value=0).astype(int).to_numpy(),
        **{col: by_gp[col].sum().reindex(list(names), fill_value=0).astype(int).to_numpy()
           for col in ("held", "held_in_time", "overdue")},
        "median_days": [None if pd.isna(v) else float(v) for v in
                        cycles[closed].groupby("gp_id")["days"].median().reindex(list(names))],
    })
    for action in ACTIONS:
        table[f"action_{action}"] = (actions[action].reindex(list(names), fill_value=0).astype(int).to_numpy()
                                     if action in actions else 0)
    table.insert(table.columns.get_loc("median_days") + 1, "followups_held",
                 table[[f"action_{a}" for a in ACTIONS]].sum(axis=1).astype(int))
    return table


def _gp_names(conn: Connection, viewer: Viewer, gps: pd.DataFrame) -> dict[int, str]:
    """The team's GPs and the GPs of its patients, by name."""
    ids = [int(i) for i in gps["gp_id"].unique()]
    stmt = select(clinicians.c.id, clinicians.c.display_name).where(
        or_(clinicians.c.id.in_(ids), and_(clinicians.c.role == "gp", clinicians.c.team_id == viewer.team_id)))
    return {int(r.id): r.display_name for r in conn.execute(stmt.order_by(clinicians.c.display_name))}


# ---------------------------------------------------------------- trends


def weekly_trends(conn: Connection, viewer: Viewer, f: Filters, episodes: pd.DataFrame, weeks: int,
                  min_cell: int) -> pd.DataFrame:
    """Per week ending at the period end (week 0 the latest, each ``(end - 7(w+1), end - 7w]``):
    enrolments, module completions, open episodes at the week's end and the recovery
    rate of courses finished in the week (``episodes`` from ``finished_episodes``)."""
    at = f.end
    since = at - timedelta(days=7 * weeks)

    def bucketed(ts_col, *where, join=None):
        week = (whole_days_between(_t(at), ts_col) // 7).label("week")
        stmt = select(week, func.count().label("n"))
        if join is not None:
            stmt = stmt.select_from(join)
        return _frame(conn, stmt.where(*scope_conditions(viewer, f), ts_col > _t(since), ts_col <= _t(at), *where)
                      .group_by(week), ["week", "n"]).set_index("week")["n"]

    enrolments = bucketed(patients.c.enrolled_at)
    completions = bucketed(module_progress.c.completed_at, join=module_progress.join(
        patients, patients.c.id == module_progress.c.patient_id).join(modules, own_programme_progress()))
    week_ends = union_all(*[select(literal(w).label("week"), _t(at - timedelta(days=7 * w)).label("at"))
                            for w in range(weeks)]).subquery()
    open_counts = _frame(conn, select(week_ends.c.week, func.count(patients.c.id).label("n"))
                         .select_from(week_ends.outerjoin(patients, and_(open_at(_t(week_ends.c.at)), *scope_conditions(viewer, f))))
                         .group_by(week_ends.c.week), ["week", "n"]).set_index("week")["n"]
    rows = []
    ended = episodes.assign(week=((pd.Timestamp(at) - pd.to_datetime(episodes["ended_at"])) // pd.Timedelta(days=7)))
    for w in range(weeks - 1, -1, -1):
        in_week = ended[ended["week"] == w]
        recovery = outcome_rates(in_week, min_cell)["recovery"] if not in_week.empty else Rate.of(0, 0, min_cell)
        rows.append({"week": w, "week_start": at - timedelta(days=7 * (w + 1)), "week_end": at - timedelta(days=7 * w),
                     "enrolments": int(enrolments.get(w, 0)), "module_completions": int(completions.get(w, 0)),
                     "open_episodes": int(open_counts.get(w, 0)), "recovery_numerator": recovery.numerator,
                     "recovery_denominator": recovery.denominator, "recovery_rate": recovery.rate})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the page


def team_name(conn: Connection, viewer: Viewer) -> str:
    name = conn.execute(select(teams.c.name).where(teams.c.id == viewer.team_id)).scalar()
    return name or "no team"


def programme_names(conn: Connection, viewer: Viewer) -> dict[int, str]:
    """Programmes with patients in the viewer's scope, by name."""
    stmt = (select(programs.c.id, programs.c.name).where(programs.c.id.in_(
        select(patients.c.program_id).where(patient_filter(viewer)).distinct())).order_by(programs.c.name))
    return {int(r.id): r.name for r in conn.execute(stmt)}


def therapist_names(conn: Connection, viewer: Viewer) -> dict[int, str]:
    """The team's therapists (a therapist with no patients still shows) and any other
    therapist with patients in scope."""
    stmt = (select(clinicians.c.id, clinicians.c.display_name).where(or_(
        and_(clinicians.c.role == "therapist", clinicians.c.team_id == viewer.team_id),
        clinicians.c.id.in_(select(patients.c.therapist_id).where(patient_filter(viewer)).distinct())))
        .order_by(clinicians.c.display_name))
    return {int(r.id): r.display_name for r in conn.execute(stmt)}


def _share(n, d) -> float | None:
    return None if not d else float(n) / float(d)


def _nan_none(v) -> float | None:
    return None if v is None or pd.isna(v) else float(v)


def period_inputs(conn: Connection, viewer: Viewer, f: Filters, settings: Settings) -> dict:
    """The headline and workload inputs of one period, as of its end."""
    reply_by, reply = reply_times(conn, viewer, f)
    feedback_by, feedback = feedback_within(conn, viewer, f, settings.feedback_due_hours)
    return {"open": _by_therapist(open_episode_counts(conn, viewer, f, f.end, settings.recent_days)),
            "reply_by": reply_by, "reply": reply, "feedback_by": feedback_by, "feedback": feedback}


def _headline_values(d: dict) -> dict[str, tuple]:
    """figure -> (numerator, denominator, value)."""
    o, r, fb = d["open"], d["reply"], d["feedback"]
    opens, active, contacted = (int(o[c].sum()) if not o.empty else 0 for c in ("open", "active_recent", "contacted_recent"))
    return {
        "open_episodes": (opens, None, float(opens)),
        "active_recent": (active, opens, _share(active, opens)),
        "contact_recent": (contacted, opens, _share(contacted, opens)),
        "median_reply_hours": (r["answered"], r["messages"], r["median_reply_hours"]),
        "feedback_in_time": (fb["in_time"], fb["completions"], _share(fb["in_time"], fb["completions"])),
    }


def headline(current: dict, previous: dict, triage_counts: dict | None, settings: Settings) -> pd.DataFrame:
    """Headline figures with the previous period's value beside them."""
    days, hours = settings.recent_days, settings.feedback_due_hours
    r, fb = current["reply"], current["feedback"]
    about = {  # figure: (label, unit, what it counts)
        "open_episodes": ("Active patients", "count", "enrolled and not ended at the period end"),
        "active_recent": (f"Active in last {days} days", "share",
                          f"of active patients, those with any activity in the last {days} days"),
        "contact_recent": (f"Contacted in last {days} days", "share",
                           f"of active patients, those sent a clinician message in the last {days} days"),
        "median_reply_hours": ("Median reply time", "hours",
                               f"over patient messages of the period answered by a clinician; "
                               f"{r['messages'] - r['answered']} still open, not in the median"),
        "feedback_in_time": (f"Feedback within {hours:g} h", "share",
                             f"of modules completed in the period, those with clinician contact within {hours:g} h; "
                             f"{fb['pending']} completed in the last {hours:g} h not judged yet"),
    }
    now, before = _headline_values(current), _headline_values(previous)
    rows = [{"figure": k, "label": about[k][0], "numerator": n, "denominator": d, "value": v, "previous": before[k][2],
             "unit": about[k][1], "note": about[k][2]} for k, (n, d, v) in now.items()]
    if triage_counts is not None:
        rows += [
            {"figure": "open_triage_items", "label": "Open triage items", "numerator": triage_counts["items"],
             "denominator": None, "value": float(triage_counts["items"]), "previous": None, "unit": "count",
             "note": f"{triage_counts['patients']} patients in the triage queue now (not kept for past dates)"},
            {"figure": "escalated_risks", "label": "Escalated risks", "numerator": triage_counts["escalated"],
             "denominator": None, "value": float(triage_counts["escalated"]), "previous": None, "unit": "count",
             "note": f"risk answers not acknowledged within {settings.risk_escalation_working_days} working day(s), now"},
        ]
    return pd.DataFrame(rows, columns=HEADLINE_COLUMNS)


def filtered_triage(conn: Connection, viewer: Viewer, f: Filters, result: Triage) -> tuple[dict, pd.DataFrame]:
    """Open triage items of the patients the filters keep: totals, and counts per therapist and flag."""
    keep = _by_therapist(_frame(conn, select(patients.c.id.label("patient_id"), patients.c.therapist_id)
                                .where(*scope_conditions(viewer, f)), ["patient_id", "therapist_id"]))
    flags = result.open_flags.merge(keep, on="patient_id")
    counts = {"items": len(flags), "patients": int(flags["patient_id"].nunique()),
              "escalated": int(flags["escalated"].astype(bool).sum())}
    by = flags.groupby(["therapist_id", "flag"]).size().rename("n").reset_index()
    return counts, by.reindex(columns=["therapist_id", "flag", "n"])


def workload(names: dict[int, str], current: dict, lapsed_by: pd.Series, triage_by: pd.DataFrame | None,
             only: int | None) -> pd.DataFrame:
    """One row per therapist of the team (and "unassigned" when patients have none)."""
    def row_of(frame: pd.DataFrame, tid: int) -> dict:
        hit = frame[frame["therapist_id"] == tid] if not frame.empty else frame
        return hit.iloc[0].to_dict() if not hit.empty else {}

    ids = list(names) if only is None else [only]
    seen = set(current["open"]["therapist_id"]) | set(current["reply_by"]["therapist_id"]) | set(lapsed_by.index)
    if only is None and UNASSIGNED_ID in seen:
        ids.append(UNASSIGNED_ID)
    rows = []
    for tid in ids:
        o, r, fb = row_of(current["open"], tid), row_of(current["reply_by"], tid), row_of(current["feedback_by"], tid)
        mine = triage_by[triage_by["therapist_id"] == tid] if triage_by is not None else None
        by_flag = dict(zip(mine["flag"], mine["n"])) if mine is not None else {}
        opens, active = int(o.get("open", 0)), int(o.get("active_recent", 0))
        comp, in_time = int(fb.get("completions", 0)), int(fb.get("in_time", 0))
        rows.append({
            "therapist_id": tid, "therapist": names.get(tid, "unassigned"),
            "caseload": opens, "active_recent": active, "active_share": _share(active, opens),
            "open_items": int(sum(by_flag.values())) if mine is not None else None,
            "reasons": " · ".join(f"{FLAG_KINDS[k].title} {by_flag[k]}" for k in FLAG_KINDS if by_flag.get(k)),
            **{f"items_{k}": int(by_flag.get(k, 0)) for k in FLAG_KINDS},
            "messages": int(r.get("messages", 0)), "answered": int(r.get("answered", 0)),
            "median_reply_hours": _nan_none(r.get("median_reply_hours")),
            "feedback_completions": comp, "feedback_in_time": in_time, "feedback_share": _share(in_time, comp),
            "lapsed": int(lapsed_by.get(tid, 0)),
        })
    return pd.DataFrame(rows)


def _names_frame(frame: pd.DataFrame, names: dict[int, str], modules_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Programme names (and module titles) beside programme ids."""
    out = frame.assign(programme=frame["program_id"].map(names))
    if modules_frame is not None and "position" in out:
        out = out.merge(modules_frame, on=["program_id", "position"], how="left")
    return out


def _module_titles(conn: Connection, program_ids: list[int]) -> pd.DataFrame:
    return _frame(conn, select(modules.c.program_id, modules.c.position, modules.c.title)
                  .where(modules.c.program_id.in_(program_ids)), ["program_id", "position", "title"])


def caseload(platform: Engine, state: Engine, viewer: Viewer, f: Filters, settings: Settings, tz: ZoneInfo,
             triage_result: Triage | None = None) -> Caseload:
    """Every figure of the Caseload page for the viewer's scope. ``triage_result``
    (the viewer's current queue) adds open triage items; without it they are left out."""
    min_cell, weeks = int(settings.small_cell_min), TREND_WEEKS
    with platform.connect() as conn:
        names = programme_names(conn, viewer)
        therapists = therapist_names(conn, viewer)
        current, previous = period_inputs(conn, viewer, f, settings), period_inputs(conn, viewer, f.previous, settings)
        per_programme, by_module = adherence(conn, viewer, f, settings)
        stages = funnel(conn, viewer, f, settings)
        days = module_days(conn, viewer, f)
        lapsed = lapsed_patients(conn, viewer, f, settings)
        lapsed_ids = _by_therapist(_frame(conn, select(patients.c.id.label("patient_id"), patients.c.therapist_id)
                                          .where(patients.c.id.in_([int(i) for i in lapsed["patient_id"]])),
                                          ["patient_id", "therapist_id"]))
        since = min(f.start, f.end - timedelta(days=7 * weeks))
        episodes = finished_episodes(conn, viewer, f, settings, since)
        in_progress = _frame(conn, select(patients.c.program_id, patients.c.therapist_id, func.count().label("n"))
                             .where(*scope_conditions(viewer, f), open_at(_t(f.end)))
                             .group_by(patients.c.program_id, patients.c.therapist_id),
                             ["program_id", "therapist_id", "n"])
        triage_counts, triage_by = (filtered_triage(conn, viewer, f, triage_result) if triage_result is not None
                                    else (None, None))
        trends = weekly_trends(conn, viewer, f, episodes, weeks, min_cell)
        titles = _module_titles(conn, list(names))
        gp = gp_compliance(conn, state, viewer, f, settings, tz)
        team = team_name(conn, viewer)
    in_period = episodes[pd.to_datetime(episodes["ended_at"]) >= pd.Timestamp(f.start)]
    episodes_by_t = in_period.assign(therapist_id=in_period["therapist_id"].fillna(UNASSIGNED_ID).astype(int))
    in_progress = _by_therapist(in_progress)
    adherence_frame = _names_frame(per_programme, names)
    if not adherence_frame.empty:
        adherence_frame = adherence_frame.assign(
            completion_rate=[_share(c, e) for c, e in zip(adherence_frame["full_completers"], adherence_frame["ended"])],
            dropout_rate=[_share(d, n) for d, n in zip(adherence_frame["dropouts"], adherence_frame["enrolled"])])
    stages = _names_frame(stages, names, titles)
    stages["share"] = [_share(s, e) for s, e in zip(stages["started"], stages["eligible"])]
    return Caseload(
        filters=f, team=team,
        headline=headline(current, previous, triage_counts, settings),
        funnel=stages.sort_values(["programme", "position"]).reset_index(drop=True),
        adherence=adherence_frame,
        dropout_by_module=_names_frame(by_module, names, titles).sort_values(["programme", "position"]).reset_index(drop=True),
        module_days=_names_frame(days, names, titles).sort_values(["programme", "position"]).reset_index(drop=True),
        lapsed=lapsed,
        workload=workload(therapists, current, lapsed_ids.groupby("therapist_id").size(), triage_by, f.therapist_id),
        outcomes=outcome_table(in_period, in_progress.groupby("program_id")["n"].sum(), "program_id",
                               {k: v for k, v in names.items() if f.program_id in (None, k)}, min_cell),
        outcomes_by_therapist=outcome_table(episodes_by_t, in_progress.groupby("therapist_id")["n"].sum(), "therapist_id",
                                            {k: v for k, v in therapists.items() if f.therapist_id in (None, k)}, min_cell),
        gp_compliance=gp,
        trends=trends,
        definitions=definitions(settings),
    )


def definitions(settings: Settings) -> dict[str, str]:
    """The definitions shown beside the figures (clinical-reference 3.1 asks for the session one)."""
    session = SESSION_DEFINITIONS[settings.treatment_session_event]
    return {
        "finished_course": (f"an episode ended (completed or withdrawn) in the period with at least "
                            f"{settings.finished_course_min_sessions} treatment sessions, a session being {session}"),
        "paired": "first and last valid PHQ-9 and GAD-7 of the episode (from the baseline window to its end); "
                  "courses without both pairs are counted as \"no paired scores\" and left out of the rates",
        "dropout": (f"withdrawn before completing every module, or no activity for {settings.dropout_inactive_days} days "
                    "before completing (clinical-reference 5.1)"),
        "completion": "full completers (every module completed) over ended episodes",
        "funnel": (f"a patient counts for module k once their episode ended or k x {settings.module_pace_days} + "
                   f"{settings.funnel_grace_days} days have passed since enrolment"),
        "small_cells": f"rates over fewer than {settings.small_cell_min} courses are shown as \"too few\"",
        "anxiety_measure": "NHS-style outcomes pair PHQ-9 with GAD-7 (clinical-reference 3.3)",
    }
