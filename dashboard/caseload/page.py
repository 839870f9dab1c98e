"""The Caseload page's assembly: every figure for the viewer's scope and filters, with the
definitions shown beside them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, and_, func, or_, select
from sqlalchemy.engine import Connection

from dashboard.caseload.adherence import adherence, funnel, lapsed_patients, module_days
from dashboard.caseload.gp_compliance import gp_compliance
from dashboard.caseload.outcomes import (
    finished_episodes,
    follow_up_courses,
    follow_up_since,
    outcome_table,
    programme_plans,
)
from dashboard.caseload.shared import (
    UNASSIGNED_ID,
    Filters,
    _by_therapist,
    _frame,
    _share,
    _t,
    scope_conditions,
)
from dashboard.caseload.trends import TREND_WEEKS, weekly_trends
from dashboard.caseload.workload import (
    filtered_flags,
    headline,
    headline_in_language,
    headline_with_triage,
    in_flag_order,
    period_inputs,
    triage_counts,
    workload,
    workload_in_language,
    workload_with_triage,
)
from dashboard.config import Settings
from dashboard.facts import (
    open_at,
)
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS
from dashboard.outcomes import anxiety_plan
from dashboard.schema import (
    clinicians,
    modules,
    patients,
    programs,
    teams,
)
from dashboard.scope import Viewer, patient_filter
from dashboard.triage import Triage

SESSION_DEFINITIONS = {  # translated where shown (``definitions``)
    "module_completed": N_("a completed module"),
    "clinician_message": N_("a clinician message to the patient"),
}


@dataclass(frozen=True)
class Caseload:
    filters: Filters
    team: str
    headline: pd.DataFrame  # HEADLINE_COLUMNS
    funnel: pd.DataFrame  # programme, position, title, eligible, started, share
    adherence: pd.DataFrame  # per programme: enrolled, ended, completers, ..., rates
    dropout_by_module: pd.DataFrame  # programme, position, title, started, completed, dropouts, rates over started
    module_days: pd.DataFrame  # programme, position, title, completions, median_days
    lapsed: pd.DataFrame  # open episodes with no activity for dropout_inactive_days (patient rows, in scope)
    workload: pd.DataFrame  # one row per therapist
    outcomes: pd.DataFrame  # per programme: finished, paired, rates (OUTCOME_COLUMNS)
    outcomes_by_therapist: pd.DataFrame
    gp_compliance: pd.DataFrame  # one row per GP
    trends: pd.DataFrame  # weekly
    definitions: dict[str, str] = field(default_factory=dict)
    # the open triage items behind the headline's and workload's counts (TRIAGE_FLAG_COLUMNS);
    # None without the current queue
    triage_flags: pd.DataFrame | None = None


def team_name(conn: Connection, viewer: Viewer) -> str:
    name = conn.execute(select(teams.c.name).where(teams.c.id == viewer.team_id)).scalar()
    return name or _("no team")


def programme_names(conn: Connection, viewer: Viewer) -> dict[int, str]:
    """Programmes with patients in the viewer's scope, by name."""
    stmt = (
        select(programs.c.id, programs.c.name)
        .where(programs.c.id.in_(select(patients.c.program_id).where(patient_filter(viewer)).distinct()))
        .order_by(programs.c.name)
    )
    return {int(r.id): r.name for r in conn.execute(stmt)}


def therapist_names(conn: Connection, viewer: Viewer) -> dict[int, str]:
    """The team's therapists (a therapist with no patients still shows) and any other
    therapist with patients in scope."""
    stmt = (
        select(clinicians.c.id, clinicians.c.display_name)
        .where(
            or_(
                and_(clinicians.c.role == "therapist", clinicians.c.team_id == viewer.team_id),
                clinicians.c.id.in_(select(patients.c.therapist_id).where(patient_filter(viewer)).distinct()),
            )
        )
        .order_by(clinicians.c.display_name)
    )
    return {int(r.id): r.display_name for r in conn.execute(stmt)}


def _names_frame(frame: pd.DataFrame, names: dict[int, str], modules_frame: pd.DataFrame | None = None) -> pd.DataFrame:
    """Programme names (and module titles) beside programme ids."""
    out = frame.assign(programme=frame["program_id"].map(names))
    if modules_frame is not None and "position" in out:
        out = out.merge(modules_frame, on=["program_id", "position"], how="left")
    return out


def _module_titles(conn: Connection, program_ids: list[int]) -> pd.DataFrame:
    return _frame(
        conn,
        select(modules.c.program_id, modules.c.position, modules.c.title).where(modules.c.program_id.in_(program_ids)),
        ["program_id", "position", "title"],
    )


def caseload(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    f: Filters,
    settings: Settings,
    tz: ZoneInfo,
    triage_result: Triage | None = None,
) -> Caseload:
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
        lapsed_ids = _by_therapist(
            _frame(
                conn,
                select(patients.c.id.label("patient_id"), patients.c.therapist_id).where(
                    patients.c.id.in_([int(i) for i in lapsed["patient_id"]])
                ),
                ["patient_id", "therapist_id"],
            )
        )
        since = min(f.start, f.end - timedelta(days=7 * weeks))
        episodes = finished_episodes(conn, viewer, f, settings, since)
        later = follow_up_courses(
            finished_episodes(conn, viewer, f, settings, follow_up_since(f, settings)), f, settings
        )
        plans = programme_plans(conn, settings)
        in_progress = _frame(
            conn,
            select(patients.c.program_id, patients.c.therapist_id, func.count().label("n"))
            .where(*scope_conditions(viewer, f), open_at(_t(f.end)))
            .group_by(patients.c.program_id, patients.c.therapist_id),
            ["program_id", "therapist_id", "n"],
        )
        open_items = filtered_flags(conn, viewer, f, triage_result.open_flags) if triage_result is not None else None
        counts, triage_by = triage_counts(open_items) if open_items is not None else (None, None)
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
            completion_rate=[
                _share(c, e) for c, e in zip(adherence_frame["full_completers"], adherence_frame["ended"])
            ],
            dropout_rate=[_share(d, n) for d, n in zip(adherence_frame["dropouts"], adherence_frame["enrolled"])],
        )
    by_module = _names_frame(by_module, names, titles)
    by_module = by_module.assign(
        completion_rate=[_share(c, s) for c, s in zip(by_module["completed"], by_module["started"])],
        dropout_rate=[_share(d, s) for d, s in zip(by_module["dropouts"], by_module["started"])],
    )
    stages = _names_frame(stages, names, titles)
    stages["share"] = [_share(s, e) for s, e in zip(stages["started"], stages["eligible"])]
    return Caseload(
        filters=f,
        team=team,
        headline=headline(current, previous, counts, settings),
        funnel=stages.sort_values(["programme", "position"]).reset_index(drop=True),
        adherence=adherence_frame,
        dropout_by_module=by_module.sort_values(["programme", "position"]).reset_index(drop=True),
        module_days=_names_frame(days, names, titles).sort_values(["programme", "position"]).reset_index(drop=True),
        lapsed=lapsed,
        workload=workload(therapists, current, lapsed_ids.groupby("therapist_id").size(), triage_by, f.therapist_id),
        outcomes=outcome_table(
            in_period,
            in_progress.groupby("program_id")["n"].sum(),
            "program_id",
            {k: v for k, v in names.items() if f.program_id in (None, k)},
            min_cell,
            plans,
            later,
        ),
        outcomes_by_therapist=outcome_table(
            episodes_by_t,
            in_progress.groupby("therapist_id")["n"].sum(),
            "therapist_id",
            {k: v for k, v in therapists.items() if f.therapist_id in (None, k)},
            min_cell,
            later=later.assign(therapist_id=later["therapist_id"].fillna(UNASSIGNED_ID).astype(int)),
        ),
        gp_compliance=gp,
        trends=trends,
        definitions=definitions(settings),
        triage_flags=open_items,
    )


def with_triage_flags(result: Caseload, open_items: pd.DataFrame, settings: Settings) -> Caseload:
    """``result`` with its triage counts made from these open items (TRIAGE_FLAG_COLUMNS):
    a kept snapshot brought up to date with acknowledgements made since it was built."""
    items = in_flag_order(open_items)
    counts, by = triage_counts(items)
    return replace(
        result,
        headline=headline_with_triage(result.headline, counts, settings),
        workload=workload_with_triage(result.workload, by),
        triage_flags=items,
    )


def in_language(result: Caseload, settings: Settings) -> Caseload:
    """``result`` with its words in the run's language: the definitions, the headline's labels
    and notes, the workload's reasons. A cached or kept (team snapshot) Caseload may have been
    built in another clinician's language, or hold no words at all."""
    return replace(
        result,
        definitions=definitions(settings),
        headline=headline_in_language(result.headline, settings),
        workload=workload_in_language(result.workload),
        outcomes_by_therapist=_unassigned_in_language(result.outcomes_by_therapist),
    )


def _unassigned_in_language(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or "therapist_id" not in frame:
        return frame
    return frame.assign(
        name=[_("unassigned") if t == UNASSIGNED_ID else n for t, n in zip(frame["therapist_id"], frame["name"])]
    )


def definitions(settings: Settings) -> dict[str, str]:
    """The definitions shown beside the figures (clinical-reference 3.1 asks for the session one)."""
    session = _(SESSION_DEFINITIONS[settings.treatment_session_event])
    uses_adsm = any(anxiety_plan(code, settings).uses_adsm for code in settings.programme_problem_descriptors)
    anxiety = _("anxiety measure (GAD-7, or the programme's ADSM)") if uses_adsm else "GAD-7"
    sessions, inactive = int(settings.finished_course_min_sessions), int(settings.dropout_inactive_days)
    small = int(settings.small_cell_min)
    return {
        "finished_course": ngettext(
            "an episode ended (completed or withdrawn) in the period with at least {n} treatment session, "
            "a session being {session}",
            "an episode ended (completed or withdrawn) in the period with at least {n} treatment sessions, "
            "a session being {session}",
            sessions,
        ).format(n=sessions, session=session),
        "paired": _(
            "first and last valid PHQ-9 and {anxiety} of the episode (from the baseline window to its end); "
            'courses without both pairs are counted as "no paired scores" and left out of the rates'
        ).format(anxiety=anxiety),
        "dropout": ngettext(
            "withdrawn before completing every module, or no activity for {days} day before completing "
            "(clinical-reference 5.1)",
            "withdrawn before completing every module, or no activity for {days} days before completing "
            "(clinical-reference 5.1)",
            inactive,
        ).format(days=inactive),
        "completion": _("full completers (every module completed) of the patients whose episode ended"),
        "dropout_by_module": _(
            "of the patients who started module k: those who completed it, and the drop-outs whose last "
            "module started was k"
        ),
        "funnel": _(
            "a patient counts for module k once their episode ended or k x {pace} + {grace} days have passed "
            "since enrolment"
        ).format(pace=settings.module_pace_days, grace=settings.funnel_grace_days),
        "small_cells": ngettext(
            'rates over fewer than {n} course are shown as "too few"',
            'rates over fewer than {n} courses are shown as "too few"',
            small,
        ).format(n=small),
        "anxiety_measure": anxiety_definition(settings),
    }


def anxiety_definition(settings: Settings) -> str:
    """Which anxiety measure the outcomes pair with PHQ-9, per problem descriptor a programme
    is mapped to (clinical-reference 3.3), with an ADSM's values and their sources."""
    base = _("NHS-style outcomes pair PHQ-9 with GAD-7 (clinical-reference 3.3)")
    by_descriptor: dict[str, list[str]] = {}
    for code, descriptor in sorted(settings.programme_problem_descriptors.items()):
        by_descriptor.setdefault(descriptor, []).append(code)
    parts = []
    for descriptor, codes in by_descriptor.items():
        plan = anxiety_plan(codes[0], settings)
        where = _("{descriptor} (programme {codes})").format(descriptor=descriptor, codes=", ".join(codes))
        m = plan.measure
        if plan.uses_adsm:
            parts.append(
                _(
                    "{where}: {name}, caseness >= {caseness} and reliable change of {change} points ({sources}), "
                    "GAD-7 the back-up for a course without a {name} pair"
                ).format(
                    where=where,
                    name=m.name,
                    caseness=f"{m.caseness:g}",
                    change=f"{m.reliable_change:.3g}",
                    sources="; ".join(filter(None, (m.source, INSTRUMENTS[m.code].reliable_change_source))),
                )
            )
        elif plan.why_gad7:
            parts.append(_("{where}: GAD-7 ({why})").format(where=where, why=plan.why_gad7))
    return base + (_("; by problem descriptor: ") + "; ".join(parts) if parts else "")
