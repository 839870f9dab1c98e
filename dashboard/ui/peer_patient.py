"""The patient page as a peer supporter sees it (issue 20): module progress against
due dates, weekly engagement with messages each way, and the symptom trajectories
with their bands; the contact reasons of their own list; where a risk answer and a
recorded concern stand with the therapist, and the form recording a concern. No item-level answer (no item 9 markers or values, no outcome
table, no FHIR export) and nothing a GP wrote (their follow-up notes)."""

from __future__ import annotations

import functools

import pandas as pd
import streamlit as st

from dashboard import charts, i18n
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.patient import (
    Patient,
    current_module,
    episode_responses,
    follow_up_responses,
    module_timeline,
    treatment_week,
)
from dashboard.peer_support import for_patient
from dashboard.text import md
from dashboard.timeutil import freshness_line
from dashboard.trajectory import scales as trajectory_scales
from dashboard.ui import cached
from dashboard.ui.components.chart import chart
from dashboard.ui.components.concern_form import concern_form
from dashboard.ui.components.handle_reasons import handle_reasons, show_confirmation
from dashboard.ui.components.module_dates import module_dates_table, weekly_labels
from dashboard.ui.context import AppContext
from dashboard.ui.session import data_version
from dashboard.ui.views import STATUS_LABELS, flag_badges, patient_label, waited

NO_RISK = N_("No risk answer in the triage window.")


def peer_patient_view(ctx: AppContext, patient: Patient) -> None:
    """Draw the page for a patient in the supporter's care (scope checked and opening
    audited by the patient page)."""
    settings, tz = ctx.config.settings, ctx.config.timezone
    version = (
        cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, patient.patient_id),
        data_version(),
    )
    page = cached.patient_page(
        ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, patient, settings, tz.key, version
    )
    rows, summary, now = page.rows, page.summary, page.as_of
    contacts, _hidden = cached.contact_list(
        ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, settings, tz.key, version
    )
    mine = for_patient(contacts, patient.patient_id)

    day = functools.partial(i18n.format_day_or_dash, tz=tz)  # a day of the record, or a dash

    st.title(md(patient_label(patient.code, patient.display_name)))
    show_confirmation()
    week = treatment_week(pd.Series([now]), patient.enrolled_at).iloc[0]
    status_words = _(STATUS_LABELS[patient.status]) if patient.status in STATUS_LABELS else None
    st.markdown(
        _("**{programme}** · therapist **{therapist}**").format(
            programme=md(patient.programme or _("no programme")), therapist=md(patient.therapist or _("unassigned"))
        )
        + "  \n"
        + _("Enrolled {day} · treatment week {week} · {status}").format(
            day=day(patient.enrolled_at),
            week=_("unknown") if pd.isna(week) else week,
            status=md(status_words or patient.status or _("status not recorded")),
        )
    )
    st.caption(freshness_line(now, tz))
    risk = mine.risk.get(patient.patient_id)
    # the risk and concern words are peer_support's (the domain slice)
    st.info(
        _("**Risk answer**: {risk}.").format(risk=md(risk)) if risk else _(NO_RISK), icon=":material/shield_person:"
    )

    st.subheader(_("Record a concern"))
    if concern := mine.concerns.get(patient.patient_id):
        st.info(_("**Concern**: {concern}.").format(concern=md(concern)), icon=":material/report:")
    st.caption(
        _(
            "When the patient tells you something worrying: the therapist sees it in their triage at once, "
            "ranked with a risk answer, and the team lead if it waits."
        )
    )
    concern_form(ctx, patient.patient_id, patient.code, patient.therapist)

    open_rows = mine.triage.open_flags
    st.subheader(_("Your reasons to contact"))
    flag_badges(open_rows)
    if not open_rows.empty:
        with st.expander(
            _("Mark reasons handled ({n} open)").format(n=open_rows["flag"].nunique()), icon=":material/task_alt:"
        ):
            if handle_reasons(ctx, patient.patient_id, patient.code, open_rows, "peer_patient"):
                st.rerun()

    episode = episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, settings)
    st.subheader(_("Symptom trajectories"))
    charted = trajectory_scales(episode, patient.primary_instrument)  # as the therapist's page
    if not charted:
        st.info(_("No scored questionnaires to chart yet."))
    for scale in charted:  # totals in their bands; no risk-item markers (an item answer)
        chart(
            charts.trajectory_chart(
                scale.instrument,
                episode,
                None,
                None,
                tz,
                not_applicable=scale.not_applicable,
                follow_up=follow_up_responses(rows.responses, patient.ended_at, settings),
                ended_at=patient.ended_at,
            )
        )

    st.subheader(_("Module progress"))
    timeline = module_timeline(rows.modules, patient.enrolled_at, now, settings)
    done, current = int(timeline["completed_at"].notna().sum()), current_module(timeline)
    st.markdown(
        ngettext("**{done} of {n}** module completed", "**{done} of {n}** modules completed", len(timeline)).format(
            done=done, n=len(timeline)
        )
        + (_(" · current module {module}").format(module=current) if current else _(" · all completed"))
        + _(" · one module per {days} days is the pace (tick = due date)").format(
            days=i18n.format_number(settings.module_pace_days)
        )
    )
    if not timeline.empty:
        chart(charts.module_timeline_chart(timeline, now, tz))
        module_dates_table(timeline, day)

    st.subheader(_("Engagement"))
    eng = page.engagement
    facts = summary.iloc[0]
    c1, c2, c3 = st.columns(3)
    idle = facts["days_since_activity"]
    c1.metric(_("Days since last activity"), _("unknown") if pd.isna(idle) else int(idle))
    c2.metric(_("Last clinician contact"), day(eng.last_clinician_contact))
    c3.metric(
        _("Waiting for a reply"),
        _("not waiting") if eng.waiting_since is None else waited((now - eng.waiting_since).total_seconds() / 3600),
    )
    chart(charts.weekly_activity_chart(eng.weekly))
    st.dataframe(
        eng.weekly.rename(columns=weekly_labels()),
        hide_index=True,
        width="stretch",
    )
