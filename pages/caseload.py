"""Caseload: is the team keeping its patients and its promises, and are people getting better?"""

from datetime import timedelta

import pandas as pd
import streamlit as st

from dashboard import charts, exports
from dashboard.caseload import NATIONAL, OUTCOME_LABELS, OUTCOME_RATES, TREND_WEEKS, quiet_weeks
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
from dashboard.report import follow_up_rows, outcome_rows, percent, to_html
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
st.title(f"Caseload · {md(team)}")

today = local_time(utcnow(), tz).date()
c1, c2, c3, c4 = st.columns([1.4, 1, 1, 1.2], vertical_alignment="bottom")
first, last = date_range(
    c1,
    "Reporting period",
    (today - timedelta(days=int(settings.report_period_days)), today),
    today,
    key="caseload_period",
    help="Figures are as of the period's last day; change compares with the same length just before",
)
ALL = 0  # not a platform id; None would read as "nothing chosen" to the select box
programme = (
    c2.selectbox(
        "Programme",
        [ALL, *programmes],
        key="caseload_programme",
        format_func=lambda k: programmes.get(k, "All programmes"),
    )
    or None
)
therapist = (
    c3.selectbox(
        "Therapist",
        [ALL, *therapists],
        key="caseload_therapist",
        format_func=lambda k: therapists.get(k, "All therapists"),
    )
    or None
)
cohort = None
if c4.toggle("Enrolment cohort", key="caseload_cohort_on", help="Only patients enrolled in a date range"):
    cohort = date_range(
        c4,
        "Enrolled between",
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
kept = kept_quality is not None
if kept:  # the team's snapshot (dashboard/team_snapshot.py): say how old and what is live
    shown_at = local_time(as_of, tz)
    freshness = (
        f"Team figures as of {shown_at:%H:%M} on {shown_at:%d %b %Y} ({tz.key}), kept up to date by the refresher "
        f"(at most {int(settings.team_snapshot_max_age_seconds) // 60} min old; follow-ups and acknowledgements "
        "are live)"
    )
else:
    freshness = freshness_line(as_of, tz)
st.caption(
    f"{freshness} · period {first:%d %b %Y} – {last:%d %b %Y}"
    + ("" if cohort is None else f" · enrolled {cohort[0]:%d %b %Y} – {cohort[1]:%d %b %Y}")
)
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
        "Printable report (HTML)",
        exports.audited_file(
            ctx.state, viewer.username, "caseload_report_html", lambda: to_html(result, settings, tz, as_of, quality)
        ),
        file_name="caseload-report.html",
        mime="text/html",
        icon=":material/print:",
        key="report_html",
        on_click="ignore",
        help="One self-contained file with every figure and chart, for a service review; it opens offline",
    )
    st.download_button(
        "All tables (zip of CSVs)",
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
        help="Every table of this page as a CSV (" + ", ".join(TABLE_TITLES.values()) + ") and the definitions",
    )

# ---------------------------------------------------------------- headline
st.subheader("This period", help="Arrows compare with the previous period of the same length")
nobody = result.adherence.empty  # nobody enrolled by the period end matches the filters
if nobody:
    st.info("No patients in this period: nobody enrolled by its end matches the filters.")
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
                st.caption(parts or ("same as the previous period" if unchanged else "now"))

# ---------------------------------------------------------------- adherence
st.subheader("Where do we lose patients?")
adherence = result.adherence
if nobody:
    st.info("No patients in this period: nobody enrolled by its end matches the filters.")
else:
    st.dataframe(
        adherence.assign(
            completion=[
                f"{c} of {e} whose episode ended" for c, e in zip(adherence["full_completers"], adherence["ended"])
            ],
            dropout=[f"{d} of {n} enrolled" for d, n in zip(adherence["dropouts"], adherence["enrolled"])],
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
            "programme": "Programme",
            "enrolled": st.column_config.NumberColumn("Enrolled", help="Enrolled by the period end"),
            "completion_rate": st.column_config.ProgressColumn(
                "Completion", **PERCENT, width="small", help=result.definitions["completion"]
            ),
            "completion": st.column_config.TextColumn("Completed", help="Of the patients whose episode ended"),
            "dropout_rate": st.column_config.ProgressColumn(
                "Drop-out", **PERCENT, width="small", help=result.definitions["dropout"]
            ),
            "dropout": st.column_config.TextColumn("Dropped out", help="Of every patient enrolled by the period end"),
            "withdrawn_early": st.column_config.NumberColumn("Withdrew early"),
            "lapsed_early": st.column_config.NumberColumn(
                "Lapsed", help=f"No activity for {settings.dropout_inactive_days} days before completing"
            ),
            "dropouts_not_started": st.column_config.NumberColumn(
                "Before module 1", help="Drop-outs who never started a module"
            ),
        },
    )
    st.caption(
        "Completion counts the patients whose episode ended; drop-out counts every patient enrolled by the "
        f"period end. Drop-out: {result.definitions['dropout']}."
    )
    export("adherence", "Completion and drop-out CSV")

    st.markdown("##### Drop-out by module")
    names = sorted(result.dropout_by_module["programme"].dropna().unique())
    chosen = names[0] if names else None
    if len(names) > 1:
        chosen = (
            st.segmented_control(
                "Programme", names, default=names[0], key="dropout_programme", label_visibility="collapsed"
            )
            or names[0]
        )
    if chosen is not None:
        rows = result.dropout_by_module[result.dropout_by_module["programme"] == chosen]
        left, right = st.columns(2)
        with left:
            st.markdown(f"**{md(chosen)}** · dropped out at each module, of those who started it")
            chart(charts.dropout_chart(rows))
        with right:
            st.markdown(f"**{md(chosen)}** · started each module, of those counted")
            chart(charts.funnel_chart(result.funnel[result.funnel["programme"] == chosen]))
        shown = dropout_by_module_table(result)
        shown = shown[shown["Programme"] == chosen]
        st.dataframe(
            shown.assign(
                Module=[f"{k} · {t}" for k, t in zip(shown["Module"], shown["Title"])],
                Completed=[
                    f"{c} of {s} who started module {k}" if s else "nobody started it yet"
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
                "Module": st.column_config.TextColumn("Module", width="medium"),
                "Drop-out (% of started)": st.column_config.ProgressColumn("Drop-out", **PERCENT, width="small"),
                "Drop-out": st.column_config.TextColumn("Dropped out"),
                "Completion (% of started)": st.column_config.ProgressColumn("Completion", **PERCENT, width="small"),
                "Completed": st.column_config.TextColumn("Completed"),
                "Median days to complete": st.column_config.NumberColumn(
                    "Median days", format="%.1f", help="Median days from starting the module to completing it"
                ),
            },
        )
        st.caption(
            f"Per module, {result.definitions['dropout_by_module']}; every module is listed, those with no "
            f"drop-out too. Funnel: {result.definitions['funnel']}."
        )
    export("dropout_by_module", "Drop-out by module CSV")

lapsed = result.lapsed
st.markdown(
    f"**Lapsed but not closed: {len(lapsed)}** · open episodes with no activity for "
    f"{settings.dropout_inactive_days} days; close them or try to re-engage"
)
if not lapsed.empty:
    shown = lapsed.assign(
        last_activity_at=[f"{local_time(t.to_pydatetime(), tz):%d %b %Y}" for t in lapsed["last_activity_at"]],
        progress=[f"{c} of {t} modules" for c, t in zip(lapsed["modules_completed"], lapsed["modules_total"])],
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
            "code": "Patient",
            "programme": "Programme",
            "therapist": "Therapist",
            "progress": "Progress",
            "last_activity_at": "Last activity",
            "days_inactive": st.column_config.NumberColumn("Inactive", format="%d d"),
        },
    )
    if event.selection.rows:
        chosen = shown.iloc[event.selection.rows[0]]
        open_patient(chosen["code"], chosen["patient_id"])
    export("lapsed", "Lapsed patients CSV")

# ---------------------------------------------------------------- workload
st.subheader("Who is overloaded?")
work = result.workload
if work.empty:
    st.info("No therapists in this team.")
else:

    def count_bar(label: str, column: str, help: str, width: int = 85, format: str = "%d", **more):
        """A bar of a count column, full at the team's largest value (at least 1)."""
        top = max(1.0, float(pd.to_numeric(work[column], errors="coerce").max() or 0))
        return st.column_config.ProgressColumn(
            label, width=width, format=format, min_value=0, max_value=top, help=help, **more
        )

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
            "therapist": st.column_config.TextColumn("Therapist", width=130, pinned=True),
            "caseload": count_bar("Caseload", "caseload", "Active patients at the period end"),
            "active_share": st.column_config.ProgressColumn(
                f"Active {settings.recent_days} d",
                width=85,
                **PERCENT,
                help=f"Share of the caseload active in the last {settings.recent_days} days",
            ),
            "open_items": count_bar(
                "Open items", "open_items", "Open triage items now; their reasons in the last column", 90, pinned=True
            ),
            "reasons": st.column_config.TextColumn("Reasons", width=165),
            "median_reply_hours": count_bar(
                "Reply", "median_reply_hours", "Median hours to reply to a patient's message", 80, "%.0f h"
            ),
            "replied": st.column_config.TextColumn(
                "Answered", width=80, help="Messages answered / patient messages in the period"
            ),
            "feedback_share": st.column_config.ProgressColumn(
                "Feedback",
                width=85,
                **PERCENT,
                help=f"Module completions given feedback within {settings.feedback_due_hours:g} h",
            ),
            "fed_back": st.column_config.TextColumn(
                "In time", width=70, help="Feedback in time / module completions in the period"
            ),
            "lapsed": st.column_config.NumberColumn(
                "Lapsed", width=60, help=f"No activity for {settings.dropout_inactive_days} days, episode still open"
            ),
        },
    )
    export("workload", "Workload CSV")
peers = cached.supporter_workload(ctx.platform, ctx.state, ctx.config.db_url, viewer, settings, tz.key, first, version)
if not peers.empty:
    st.markdown("**Peer supporters** (their replies since the period's first day; peer contact is never a clinician's)")
    st.dataframe(
        peers.assign(
            replied=[f"{a}/{m}" for a, m in zip(peers["answered"], peers["messages"])],
            median_reply_hours=["—" if pd.isna(h) else f"{h:.0f} h" for h in peers["median_reply_hours"]],
        ),
        hide_index=True,
        width="stretch",
        column_order=["supporter", "in_care", "to_contact", "median_reply_hours", "replied"],
        column_config={
            "supporter": st.column_config.TextColumn("Peer supporter", width=150, pinned=True),
            "in_care": st.column_config.NumberColumn("In their care", help="Patients with an open care-team row"),
            "to_contact": st.column_config.NumberColumn("To contact today", help="Patients on their list now"),
            "median_reply_hours": st.column_config.TextColumn(
                "Reply", help="Median hours to the supporter's reply to a patient's message (—: none answered)"
            ),
            "replied": st.column_config.TextColumn(
                "Answered", help="Patient messages the supporter answered / patient messages in the period"
            ),
        },
    )

# ---------------------------------------------------------------- outcomes
st.subheader("Are we getting people better?")
st.caption(
    f"NHS Talking Therapies definitions (clinical-reference 3). Finished course: "
    f"{result.definitions['finished_course']}. Paired: {result.definitions['paired']}. "
    f"{result.definitions['anxiety_measure']}. {result.definitions['small_cells'].capitalize()}."
)
national = " · ".join(f"{OUTCOME_LABELS[k]} {v:.1%} ({s})" for k, (v, s) in NATIONAL.items())
targets = [
    f"{OUTCOME_LABELS[k]} {percent(settings.values.get(f'target_{k}'))}"
    for k in ("recovery", "reliable_recovery", "reliable_improvement")
    if settings.values.get(f"target_{k}") is not None
]
st.caption(
    f"National: {national}." + (f" Service standard: {', '.join(targets)} (clinical-reference 3.6)." if targets else "")
)
outcome_config = {
    "name": st.column_config.TextColumn("", width=150, pinned=True),
    "anxiety_measure": st.column_config.TextColumn(
        "Anxiety measure",
        help="The anxiety measure paired with PHQ-9 in these rates (clinical-reference 3.3): GAD-7, or the "
        "programme's ADSM where configured, GAD-7 the back-up for a course without its pair",
    ),
    "finished": st.column_config.NumberColumn("Finished courses"),
    "paired": st.column_config.NumberColumn("Paired"),
    "no_paired_scores": st.column_config.NumberColumn("No paired scores"),
    "in_progress": st.column_config.NumberColumn("In progress", help="Still in treatment: never in the rates"),
    **{OUTCOME_LABELS[k]: st.column_config.TextColumn(OUTCOME_LABELS[k]) for k in OUTCOME_RATES},
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
for title, table, name in (
    ("By programme", result.outcomes, "outcomes"),
    ("By therapist", result.outcomes_by_therapist, "outcomes_by_therapist"),
):
    st.markdown(f"**{title}**")
    if table.empty:
        st.info("No finished courses or patients in treatment match the filters.")
        continue
    st.dataframe(
        outcome_rows(table),
        hide_index=True,
        width="stretch",
        column_config=outcome_config,
        column_order=OUTCOME_ORDER,  # the safety figure first: reliable deterioration
    )
    export(name, f"{title} CSV")
st.markdown("**At follow-up, by programme**")
st.caption(follow_up_text(settings) + ".")
if result.outcomes.empty:
    st.info("No finished courses match the filters.")
else:
    st.dataframe(
        follow_up_rows(result.outcomes),
        hide_index=True,
        width="stretch",
        column_order=["name", MAINTAINED_LABEL, "followed_up", "follow_up_courses"],  # the share first, as above
        column_config={
            "name": st.column_config.TextColumn("", width=150, pinned=True),
            "follow_up_courses": st.column_config.NumberColumn(
                "Courses due a follow-up", help="Finished courses whose follow-up window was open in the period"
            ),
            "followed_up": st.column_config.NumberColumn(
                "With a follow-up measure", help="PHQ-9 and the anxiety measure both answered in the window"
            ),
            MAINTAINED_LABEL: st.column_config.TextColumn(
                MAINTAINED_LABEL, help="Of the courses reliably improved at the end with a follow-up measure"
            ),
        },
    )

# ---------------------------------------------------------------- GP follow-ups
st.subheader("Are GPs holding follow-ups?")
gp = result.gp_compliance
st.caption(
    f"A follow-up is due from the first module completed since the last one, as on the GP's list; "
    f"held in time means within {settings.followup_overdue_days} days."
)
if gp.empty:
    st.info("No GPs with patients in these filters.")
else:
    st.dataframe(
        gp.assign(
            in_time=[None if d == 0 else 100 * h / d for h, d in zip(gp["held_in_time"], gp["due"])],
            median_days=["—" if pd.isna(v) else f"{v:.0f}" for v in gp["median_days"]],  # not "None"
            actions=[
                " · ".join(
                    f"{label} {row[f'action_{key}']}"
                    for key, label in (
                        ("continue", "continue"),
                        ("step_up", "step up"),
                        ("refer_on", "refer on"),
                        ("pause", "pause"),
                    )
                    if row[f"action_{key}"]
                )
                for _, row in gp.iterrows()
            ],
        ),
        hide_index=True,
        width="stretch",
        height=table_height(len(gp)),
        column_order=["gp", "overdue", "due", "held", "in_time", "patients", "median_days", "actions"],
        column_config={
            "gp": st.column_config.TextColumn("GP", width=160, pinned=True),
            "patients": "Patients",
            "due": st.column_config.NumberColumn("Due", help="Follow-ups that became due in the period"),
            "held": "Held",
            "in_time": st.column_config.ProgressColumn("Held in time", **PERCENT),
            "overdue": st.column_config.NumberColumn("Overdue now", width=95),
            "median_days": st.column_config.TextColumn(
                "Median days", help="Median days from due to held, over the follow-ups held"
            ),
            "actions": st.column_config.TextColumn("Actions taken", width="medium"),
        },
    )
    export("gp_compliance", "GP follow-ups CSV")

# ---------------------------------------------------------------- trends
st.subheader(f"Trends · last {TREND_WEEKS} weeks")
if quiet_weeks(result.trends):
    st.info(f"No patients in these {TREND_WEEKS} weeks: no enrolments, module completions or active patients.")
else:
    chart(charts.trends_chart(result.trends, settings.target_recovery))
    st.caption(
        "Recovery: courses finished in each week; weeks with fewer than "
        f"{settings.small_cell_min} courses at caseness are left as gaps."
    )
    export("trends", "Trends CSV")
