"""Caseload: is the team keeping its patients and its promises, and are people getting better?"""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, exports, i18n
from dashboard.caseload import NATIONAL, OUTCOME_LABELS, OUTCOME_RATES, TREND_WEEKS, in_language, quiet_weeks
from dashboard.caseload.tables import (
    MAINTAINED_LABEL,
    TABLE_TITLES,
    definitions_text,
    dropout_by_module_table,
    export_tables,
    follow_up_text,
    headline_delta,
    headline_text,
)
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.report import follow_up_rows, outcome_rows, to_html
from dashboard.text import md
from dashboard.timeutil import freshness_line, local_time, utcnow
from dashboard.ui import cached
from dashboard.ui.components.chart import chart
from dashboard.ui.components.date_range import date_range
from dashboard.ui.components.quality_note import quality_note
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.session import data_version
from dashboard.ui.views import table_height

PERCENT = {"format": "%.0f%%", "min_value": 0, "max_value": 100}  # shares are shown as 0-100 for whole percentages


def percent_of(values) -> list:
    return [None if v is None or pd.isna(v) else 100 * float(v) for v in values]


ctx = get_context()
settings, viewer, tz = ctx.config.settings, ctx.viewer, ctx.config.timezone
# anyone's writes about the team, and this session's own "read again"
version = (cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer), data_version())
team, programmes, therapists = cached.caseload_options(ctx.platform, ctx.config.db_url, viewer)
st.title(_("Caseload · {team}").format(team=md(team)))

today = local_time(utcnow(), tz).date()
c1, c2, c3, c4 = st.columns([1.4, 1, 1, 1.2], vertical_alignment="bottom")
first, last = date_range(
    c1,
    _("Reporting period"),
    (today - timedelta(days=int(settings.report_period_days)), today),
    today,
    key="caseload_period",
    help=_("Figures are as of the period's last day; change compares with the same length just before"),
)
ALL = 0  # not a platform id; None would read as "nothing chosen" to the select box
# translated now, not inside format_func: AppTest calls it after the run, outside the run's language
all_programmes, all_therapists = _("All programmes"), _("All therapists")
programme = (
    c2.selectbox(
        _("Programme"),
        [ALL, *programmes],
        key="caseload_programme",
        format_func=lambda k: programmes.get(k, all_programmes),
    )
    or None
)
therapist = (
    c3.selectbox(
        _("Therapist"),
        [ALL, *therapists],
        key="caseload_therapist",
        format_func=lambda k: therapists.get(k, all_therapists),
    )
    or None
)
cohort = None
if c4.toggle(_("Enrolment cohort"), key="caseload_cohort_on", help=_("Only patients enrolled in a date range")):
    cohort = date_range(
        c4,
        _("Enrolled between"),
        (today - timedelta(days=180), today),
        today,
        key="caseload_cohort",
        one_day_while_picking=False,
    )

result, as_of, kept_quality = cached.caseload(
    ctx.platform,
    ctx.state,
    ctx.config.db_url,
    viewer,
    settings,
    tz.key,
    first,
    last,
    programme,
    therapist,
    cohort,
    version,
)
result = in_language(result, settings)  # a cached or kept Caseload may hold another language's words, or none
kept = kept_quality is not None
if kept:  # the team's snapshot (dashboard/team_snapshot.py): say how old and what is live
    shown_at = local_time(as_of, tz)
    minutes = int(settings.team_snapshot_max_age_seconds) // 60
    freshness = ngettext(
        "Team figures as of {time} on {day} ({zone}), kept up to date by the refresher (at most {minutes} min "
        "old; follow-ups and acknowledgements are live)",
        "Team figures as of {time} on {day} ({zone}), kept up to date by the refresher (at most {minutes} min "
        "old; follow-ups and acknowledgements are live)",
        minutes,
    ).format(time=i18n.format_clock(shown_at), day=i18n.format_day(shown_at), zone=tz.key, minutes=minutes)
else:
    freshness = freshness_line(as_of, tz)
period_words = _("period {first} – {last}").format(first=i18n.format_day(first), last=i18n.format_day(last))
cohort_words = (
    ""
    if cohort is None
    else " · "
    + _("enrolled {first} – {last}").format(first=i18n.format_day(cohort[0]), last=i18n.format_day(cohort[1]))
)
st.caption(f"{freshness} · {period_words}{cohort_words}")
quality = kept_quality if kept else cached.data_quality(ctx.platform, ctx.config.db_url, viewer, settings)
quality_note(quality)


def tables() -> dict[str, pd.DataFrame]:
    """Every table as people read it (headers in words, rates in %, no ids): built on click only."""
    return export_tables(result, settings, tz)


def export(name: str, label: str) -> None:
    """A CSV download of one table, built and audited only when clicked (dashboard.exports)."""
    st.download_button(
        label,
        exports.audited_csv(ctx.state, viewer.username, f"caseload_{name}_csv", lambda: tables()[name]),
        file_name=f"caseload-{name}.csv",
        mime="text/csv",
        icon=":material/download:",
        key=f"csv_{name}",
        on_click="ignore",
    )


with st.container(horizontal=True, wrap=True, gap="small"):
    st.download_button(
        _("Printable report (HTML)"),
        exports.audited_file(
            ctx.state, viewer.username, "caseload_report_html", lambda: to_html(result, settings, tz, as_of, quality)
        ),
        file_name="caseload-report.html",
        mime="text/html",
        icon=":material/print:",
        key="report_html",
        on_click="ignore",
        help=_("One self-contained file with every figure and chart, for a service review; it opens offline"),
    )
    st.download_button(
        _("All tables (zip of CSVs)"),
        exports.audited_zip(
            ctx.state,
            viewer.username,
            "caseload_tables_zip",
            lambda: {
                **{f"caseload-{name}": frame for name, frame in tables().items()},
                "definitions.txt": definitions_text(result, tz, as_of),
            },
        ),
        file_name="caseload-tables.zip",
        mime="application/zip",
        icon=":material/folder_zip:",
        key="tables_zip",
        on_click="ignore",
        help=_("Every table of this page as a CSV ({tables}) and the definitions").format(
            tables=", ".join(_(t) for t in TABLE_TITLES.values())
        ),
    )

# ---------------------------------------------------------------- headline
st.subheader(_("This period"), help=_("Arrows compare with the previous period of the same length"))
nobody = result.adherence.empty  # nobody enrolled by the period end matches the filters
if nobody:
    st.info(_("No patients in this period: nobody enrolled by its end matches the filters."))
else:
    with st.container(horizontal=True, wrap=True, gap="small"):  # cards wrap in a narrow window
        for row in result.headline.to_dict("records"):
            shown, parts = headline_text(row)
            delta = headline_delta(row)
            # more patients is neither good nor bad; a longer reply time is worse
            tone = {"hours": "inverse", "count": "off"}.get(row["unit"], "normal")
            with st.container(border=True, width=215):
                st.metric(row["label"], shown, delta, delta_color=tone, help=row["note"])
                unchanged = row["previous"] is not None and not pd.isna(row["previous"]) and delta is None
                st.caption(parts or (_("same as the previous period") if unchanged else _("now")))

# ---------------------------------------------------------------- adherence
st.subheader(_("Where do we lose patients?"))
adherence = result.adherence
if nobody:
    st.info(_("No patients in this period: nobody enrolled by its end matches the filters."))
else:
    inactive_days = int(settings.dropout_inactive_days)
    inactive_before = ngettext(
        "No activity for {days} day before completing", "No activity for {days} days before completing", inactive_days
    ).format(days=inactive_days)
    st.dataframe(
        adherence.assign(
            completion=[
                ngettext("{c} of {e} whose episode ended", "{c} of {e} whose episode ended", int(e)).format(c=c, e=e)
                for c, e in zip(adherence["full_completers"], adherence["ended"])
            ],
            dropout=[
                ngettext("{d} of {n} enrolled", "{d} of {n} enrolled", int(n)).format(d=d, n=n)
                for d, n in zip(adherence["dropouts"], adherence["enrolled"])
            ],
            completion_rate=percent_of(adherence["completion_rate"]),
            dropout_rate=percent_of(adherence["dropout_rate"]),
        ),
        hide_index=True,
        width="stretch",
        column_order=[
            "programme",
            "enrolled",
            "dropout_rate",
            "dropout",
            "completion_rate",
            "completion",
            "withdrawn_early",
            "lapsed_early",
            "dropouts_not_started",
        ],
        column_config={
            "programme": _("Programme"),
            "enrolled": st.column_config.NumberColumn(_("Enrolled"), help=_("Enrolled by the period end")),
            "completion_rate": st.column_config.ProgressColumn(
                _("Completion"), **PERCENT, width="small", help=result.definitions["completion"]
            ),
            "completion": st.column_config.TextColumn(_("Completed"), help=_("Of the patients whose episode ended")),
            "dropout_rate": st.column_config.ProgressColumn(
                _("Drop-out"), **PERCENT, width="small", help=result.definitions["dropout"]
            ),
            "dropout": st.column_config.TextColumn(
                _("Dropped out"), help=_("Of every patient enrolled by the period end")
            ),
            "withdrawn_early": st.column_config.NumberColumn(_("Withdrew early")),
            "lapsed_early": st.column_config.NumberColumn(_("Lapsed"), help=inactive_before),
            "dropouts_not_started": st.column_config.NumberColumn(
                _("Before module 1"), help=_("Drop-outs who never started a module")
            ),
        },
    )
    st.caption(
        _(
            "Completion counts the patients whose episode ended; drop-out counts every patient enrolled by the "
            "period end. Drop-out: {dropout}."
        ).format(dropout=result.definitions["dropout"])
    )
    export("adherence", _("Completion and drop-out CSV"))

    st.markdown("##### " + _("Drop-out by module"))
    names = sorted(result.dropout_by_module["programme"].dropna().unique())
    chosen = names[0] if names else None
    if len(names) > 1:
        chosen = (
            st.segmented_control(
                _("Programme"), names, default=names[0], key="dropout_programme", label_visibility="collapsed"
            )
            or names[0]
        )
    if chosen is not None:
        rows = result.dropout_by_module[result.dropout_by_module["programme"] == chosen]
        left, right = st.columns(2)
        with left:
            st.markdown(
                _("**{programme}** · dropped out at each module, of those who started it").format(programme=md(chosen))
            )
            chart(charts.dropout_chart(rows))
        with right:
            st.markdown(_("**{programme}** · started each module, of those counted").format(programme=md(chosen)))
            chart(charts.funnel_chart(result.funnel[result.funnel["programme"] == chosen]))
        shown = dropout_by_module_table(result)
        shown = shown[shown["Programme"] == chosen]
        st.dataframe(
            shown.assign(
                Module=[f"{k} · {t}" for k, t in zip(shown["Module"], shown["Title"])],
                Completed=[
                    ngettext("{c} of {s} who started module {k}", "{c} of {s} who started module {k}", int(s)).format(
                        c=c, s=s, k=k
                    )
                    if s
                    else _("nobody started it yet")
                    for c, s, k in zip(shown["Completed"], shown["Started"], shown["Module"])
                ],
            ),
            hide_index=True,
            width="stretch",
            height=table_height(len(shown)),
            column_order=[  # drop-out first: a narrow window shows the first columns
                "Module",
                "Drop-out (% of started)",
                "Drop-out",
                "Completion (% of started)",
                "Completed",
                "Median days to complete",
            ],
            column_config={
                "Module": st.column_config.TextColumn(_("Module"), width="medium"),
                "Drop-out (% of started)": st.column_config.ProgressColumn(_("Drop-out"), **PERCENT, width="small"),
                "Drop-out": st.column_config.TextColumn(_("Dropped out")),
                "Completion (% of started)": st.column_config.ProgressColumn(_("Completion"), **PERCENT, width="small"),
                "Completed": st.column_config.TextColumn(_("Completed")),
                "Median days to complete": st.column_config.NumberColumn(
                    _("Median days"), format="%.1f", help=_("Median days from starting the module to completing it")
                ),
            },
        )
        st.caption(
            _("Per module, {by_module}; every module is listed, those with no drop-out too. Funnel: {funnel}.").format(
                by_module=result.definitions["dropout_by_module"], funnel=result.definitions["funnel"]
            )
        )
    export("dropout_by_module", _("Drop-out by module CSV"))

lapsed = result.lapsed
lapse_days = int(settings.dropout_inactive_days)
st.markdown(
    ngettext(
        "**Lapsed but not closed: {n}** · open episodes with no activity for {days} day; close them or try to "
        "re-engage",
        "**Lapsed but not closed: {n}** · open episodes with no activity for {days} days; close them or try to "
        "re-engage",
        lapse_days,
    ).format(n=len(lapsed), days=lapse_days)
)
if not lapsed.empty:
    shown = lapsed.assign(
        last_activity_at=[i18n.format_day(t.to_pydatetime(), tz) for t in lapsed["last_activity_at"]],
        progress=[
            ngettext("{c} of {t} module", "{c} of {t} modules", int(t)).format(c=c, t=t)
            for c, t in zip(lapsed["modules_completed"], lapsed["modules_total"])
        ],
    )
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=table_height(len(shown)),
        on_select="rerun",
        selection_mode="single-row",
        key="lapsed_table",
        column_order=["code", "programme", "therapist", "progress", "last_activity_at", "days_inactive"],
        column_config={
            "code": _("Patient"),
            "programme": _("Programme"),
            "therapist": _("Therapist"),
            "progress": _("Progress"),
            "last_activity_at": _("Last activity"),
            "days_inactive": st.column_config.NumberColumn(_("Inactive"), format=_("%d d")),
        },
    )
    if event.selection.rows:
        chosen = shown.iloc[event.selection.rows[0]]
        open_patient(chosen["code"], chosen["patient_id"])
    export("lapsed", _("Lapsed patients CSV"))

# ---------------------------------------------------------------- workload
st.subheader(_("Who is overloaded?"))
work = result.workload
if work.empty:
    st.info(_("No therapists in this team."))
else:

    def count_bar(label: str, column: str, help: str, width: int = 85, format: str = "%d", **more):
        """A bar of a count column, full at the team's largest value (at least 1)."""
        top = max(1.0, float(pd.to_numeric(work[column], errors="coerce").max() or 0))
        return st.column_config.ProgressColumn(
            label, width=width, format=format, min_value=0, max_value=top, help=help, **more
        )

    recent = int(settings.recent_days)
    st.dataframe(
        work.assign(
            replied=[f"{a}/{m}" for a, m in zip(work["answered"], work["messages"])],
            fed_back=[f"{i}/{c}" for i, c in zip(work["feedback_in_time"], work["feedback_completions"])],
            active_share=percent_of(work["active_share"]),
            feedback_share=percent_of(work["feedback_share"]),
        ),
        hide_index=True,
        width="stretch",
        height=table_height(len(work)),
        column_order=[
            "therapist",
            "open_items",
            "caseload",
            "active_share",
            "median_reply_hours",
            "replied",
            "feedback_share",
            "fed_back",
            "lapsed",
            "reasons",
        ],
        column_config={
            "therapist": st.column_config.TextColumn(_("Therapist"), width=130, pinned=True),
            "caseload": count_bar(_("Caseload"), "caseload", _("Active patients at the period end")),
            "active_share": st.column_config.ProgressColumn(
                _("Active {days} d").format(days=recent),
                width=85,
                **PERCENT,
                help=ngettext(
                    "Share of the caseload active in the last {days} day",
                    "Share of the caseload active in the last {days} days",
                    recent,
                ).format(days=recent),
            ),
            "open_items": count_bar(
                _("Open items"),
                "open_items",
                _("Open triage items now; their reasons in the last column"),
                90,
                pinned=True,
            ),
            "reasons": st.column_config.TextColumn(_("Reasons"), width=165),
            "median_reply_hours": count_bar(
                _("Reply"), "median_reply_hours", _("Median hours to reply to a patient's message"), 80, _("%.0f h")
            ),
            "replied": st.column_config.TextColumn(
                _("Answered"), width=80, help=_("Messages answered / patient messages in the period")
            ),
            "feedback_share": st.column_config.ProgressColumn(
                _("Feedback"),
                width=85,
                **PERCENT,
                help=_("Module completions given feedback within {hours} h").format(
                    hours=i18n.format_number(float(settings.feedback_due_hours))
                ),
            ),
            "fed_back": st.column_config.TextColumn(
                _("In time"), width=70, help=_("Feedback in time / module completions in the period")
            ),
            "lapsed": st.column_config.NumberColumn(
                _("Lapsed"),
                width=60,
                help=ngettext(
                    "No activity for {days} day, episode still open",
                    "No activity for {days} days, episode still open",
                    lapse_days,
                ).format(days=lapse_days),
            ),
        },
    )
    export("workload", _("Workload CSV"))
peers = cached.supporter_workload(ctx.platform, ctx.state, ctx.config.db_url, viewer, settings, tz.key, first, version)
if not peers.empty:
    st.markdown(
        _("**Peer supporters** (their replies since the period's first day; peer contact is never a clinician's)")
    )
    st.dataframe(
        peers.assign(
            replied=[f"{a}/{m}" for a, m in zip(peers["answered"], peers["messages"])],
            median_reply_hours=[
                "—" if pd.isna(h) else _("{hours} h").format(hours=i18n.format_number(float(h), 0))
                for h in peers["median_reply_hours"]
            ],
        ),
        hide_index=True,
        width="stretch",
        column_order=["supporter", "in_care", "to_contact", "median_reply_hours", "replied"],
        column_config={
            "supporter": st.column_config.TextColumn(_("Peer supporter"), width=150, pinned=True),
            "in_care": st.column_config.NumberColumn(_("In their care"), help=_("Patients with an open care-team row")),
            "to_contact": st.column_config.NumberColumn(_("To contact today"), help=_("Patients on their list now")),
            "median_reply_hours": st.column_config.TextColumn(
                _("Reply"), help=_("Median hours to the supporter's reply to a patient's message (—: none answered)")
            ),
            "replied": st.column_config.TextColumn(
                _("Answered"), help=_("Patient messages the supporter answered / patient messages in the period")
            ),
        },
    )

# ---------------------------------------------------------------- outcomes
st.subheader(_("Are we getting people better?"))
small_cells = result.definitions["small_cells"]
st.caption(
    _(
        "NHS Talking Therapies definitions (clinical-reference 3). Finished course: {finished}. Paired: {paired}. "
        "{anxiety}. {small_cells}."
    ).format(
        finished=result.definitions["finished_course"],
        paired=result.definitions["paired"],
        anxiety=result.definitions["anxiety_measure"],
        small_cells=small_cells[:1].upper() + small_cells[1:],
    )
)
national = " · ".join(f"{_(OUTCOME_LABELS[k])} {i18n.format_percent(v, 1)} ({s})" for k, (v, s) in NATIONAL.items())
targets = [
    f"{_(OUTCOME_LABELS[k])} {i18n.format_percent(float(settings.values[f'target_{k}']))}"
    for k in ("recovery", "reliable_recovery", "reliable_improvement")
    if settings.values.get(f"target_{k}") is not None
]
national_words = _("National: {national}.").format(national=national)
if targets:
    national_words += " " + _("Service standard: {targets} (clinical-reference 3.6).").format(
        targets=", ".join(targets)
    )
st.caption(national_words)
outcome_config = {
    "name": st.column_config.TextColumn("", width=150, pinned=True),
    "anxiety_measure": st.column_config.TextColumn(
        _("Anxiety measure"),
        help=_(
            "The anxiety measure paired with PHQ-9 in these rates (clinical-reference 3.3): GAD-7, or the "
            "programme's ADSM where configured, GAD-7 the back-up for a course without its pair"
        ),
    ),
    "finished": st.column_config.NumberColumn(_("Finished courses")),
    "paired": st.column_config.NumberColumn(_("Paired")),
    "no_paired_scores": st.column_config.NumberColumn(_("No paired scores")),
    "in_progress": st.column_config.NumberColumn(_("In progress"), help=_("Still in treatment: never in the rates")),
    # the outcome tables' columns are the English labels (dashboard.report.outcome_rows); their labels translated
    **{OUTCOME_LABELS[k]: st.column_config.TextColumn(_(OUTCOME_LABELS[k])) for k in OUTCOME_RATES},
}
OUTCOME_ORDER = [
    "name",
    OUTCOME_LABELS["reliable_deterioration"],
    *(OUTCOME_LABELS[k] for k in OUTCOME_RATES if k != "reliable_deterioration"),
    "anxiety_measure",
    "finished",
    "paired",
    "no_paired_scores",
    "in_progress",
]
BY_PROGRAMME, BY_THERAPIST = N_("By programme"), N_("By therapist")
for title, table, name in (
    (BY_PROGRAMME, result.outcomes, "outcomes"),
    (BY_THERAPIST, result.outcomes_by_therapist, "outcomes_by_therapist"),
):
    st.markdown(f"**{_(title)}**")
    if table.empty:
        st.info(_("No finished courses or patients in treatment match the filters."))
        continue
    st.dataframe(
        outcome_rows(table),
        hide_index=True,
        width="stretch",
        column_config=outcome_config,
        column_order=OUTCOME_ORDER,  # the safety figure first: reliable deterioration
    )
    export(name, _("By programme CSV") if title == BY_PROGRAMME else _("By therapist CSV"))
st.markdown("**" + _("At follow-up, by programme") + "**")
st.caption(follow_up_text(settings) + ".")
if result.outcomes.empty:
    st.info(_("No finished courses match the filters."))
else:
    st.dataframe(
        follow_up_rows(result.outcomes),
        hide_index=True,
        width="stretch",
        column_order=["name", MAINTAINED_LABEL, "followed_up", "follow_up_courses"],  # the share first, as above
        column_config={
            "name": st.column_config.TextColumn("", width=150, pinned=True),
            "follow_up_courses": st.column_config.NumberColumn(
                _("Courses due a follow-up"), help=_("Finished courses whose follow-up window was open in the period")
            ),
            "followed_up": st.column_config.NumberColumn(
                _("With a follow-up measure"), help=_("PHQ-9 and the anxiety measure both answered in the window")
            ),
            MAINTAINED_LABEL: st.column_config.TextColumn(
                _(MAINTAINED_LABEL), help=_("Of the courses reliably improved at the end with a follow-up measure")
            ),
        },
    )

# ---------------------------------------------------------------- GP follow-ups
st.subheader(_("Are GPs holding follow-ups?"))
gp = result.gp_compliance
overdue_days = int(settings.followup_overdue_days)
st.caption(
    ngettext(
        "A follow-up is due from the first module completed since the last one, as on the GP's list; held in time "
        "means within {days} day.",
        "A follow-up is due from the first module completed since the last one, as on the GP's list; held in time "
        "means within {days} days.",
        overdue_days,
    ).format(days=overdue_days)
)
GP_ACTIONS = (
    ("continue", N_("continue")),
    ("step_up", N_("step up")),
    ("refer_on", N_("refer on")),
    ("pause", N_("pause")),
)
if gp.empty:
    st.info(_("No GPs with patients in these filters."))
else:
    st.dataframe(
        gp.assign(
            in_time=[None if d == 0 else 100 * h / d for h, d in zip(gp["held_in_time"], gp["due"])],
            median_days=[
                "—" if pd.isna(v) else i18n.format_number(float(v), 0) for v in gp["median_days"]
            ],  # no "None"
            actions=[
                " · ".join(f"{_(label)} {row[f'action_{key}']}" for key, label in GP_ACTIONS if row[f"action_{key}"])
                for row in gp.to_dict("records")
            ],
        ),
        hide_index=True,
        width="stretch",
        height=table_height(len(gp)),
        column_order=["gp", "overdue", "due", "held", "in_time", "patients", "median_days", "actions"],
        column_config={
            "gp": st.column_config.TextColumn(_("GP"), width=160, pinned=True),
            "patients": _("Patients"),
            "due": st.column_config.NumberColumn(_("Due"), help=_("Follow-ups that became due in the period")),
            "held": _("Held"),
            "in_time": st.column_config.ProgressColumn(_("Held in time"), **PERCENT),
            "overdue": st.column_config.NumberColumn(_("Overdue now"), width=95),
            "median_days": st.column_config.TextColumn(
                _("Median days"), help=_("Median days from due to held, over the follow-ups held")
            ),
            "actions": st.column_config.TextColumn(_("Actions taken"), width="medium"),
        },
    )
    export("gp_compliance", _("GP follow-ups CSV"))

# ---------------------------------------------------------------- trends
st.subheader(ngettext("Trends · last {n} week", "Trends · last {n} weeks", TREND_WEEKS).format(n=TREND_WEEKS))
if quiet_weeks(result.trends):
    st.info(
        ngettext(
            "No patients in this {n} week: no enrolments, module completions or active patients.",
            "No patients in these {n} weeks: no enrolments, module completions or active patients.",
            TREND_WEEKS,
        ).format(n=TREND_WEEKS)
    )
else:
    chart(charts.trends_chart(result.trends, settings.target_recovery))
    min_cell = int(settings.small_cell_min)
    st.caption(
        ngettext(
            "Recovery: courses finished in each week; weeks with fewer than {n} course at caseness are left as gaps.",
            "Recovery: courses finished in each week; weeks with fewer than {n} courses at caseness are left as gaps.",
            min_cell,
        ).format(n=min_cell)
    )
    export("trends", _("Trends CSV"))
