"""Patient: progress, symptom trajectories, engagement and data quality for one patient."""

import functools
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import audit, charts, i18n
from dashboard.acks import MAY_ACKNOWLEDGE
from dashboard.flags import checkpoint_words, last_risk_assessment, on_track_status, pauses, risk_item_status
from dashboard.flags import title as flag_title
from dashboard.gp_followups import ACTIONS
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS, band_words, display_score
from dashboard.outcomes import anxiety_plan, change_words, planned_measures_text
from dashboard.patient import (
    current,
    current_module,
    episode_responses,
    follow_up_outcome,
    follow_up_responses,
    follow_up_scores,
    module_timeline,
    nhs_status,
    patients_with_code,
    subscale_table,
    summaries,
    treatment_week,
)
from dashboard.record_audit import audit_once
from dashboard.schema import PEER_SUPPORTER
from dashboard.text import control_problem, md, visible_controls
from dashboard.timeutil import freshness_line, local_date
from dashboard.trajectory import escalation_text, series_rows, zone_transitions
from dashboard.trajectory import scales as trajectory_scales
from dashboard.ui import cached
from dashboard.ui.components.agenda_panel import agenda_entry
from dashboard.ui.components.chart import chart
from dashboard.ui.components.correction_panel import correction_panel
from dashboard.ui.components.fhir_download import fhir_download
from dashboard.ui.components.follow_up import follow_up_section
from dashboard.ui.components.followup_form import followup_form
from dashboard.ui.components.handle_reasons import handle_reasons, show_confirmation
from dashboard.ui.components.module_dates import module_dates_table, weekly_labels
from dashboard.ui.components.quality_note import quality_note
from dashboard.ui.components.withdraw_ack import withdraw_panel
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.peer_patient import peer_patient_view
from dashboard.ui.session import data_version
from dashboard.ui.views import (
    NO_RISK_ANSWER,
    RISK_NOTE,
    STATUS_LABELS,
    blank_or_int,
    flag_badges,
    patient_label,
    waited,
)

DENIED = N_("No such patient in your caseload.")

ctx = get_context()
settings, tz = ctx.config.settings, ctx.config.timezone
code = (st.query_params.get("patient") or "").strip()
if not code:
    st.title(_("Patient"))
    st.info(_("Open a patient by selecting their row in a patient list."))
    st.stop()

refused = control_problem(code, _("This patient link"))
if refused:  # before any query: PostgreSQL cannot even compare a code holding NUL
    st.title(_("Patient"))
    st.error(refused)
    audit_once(
        st.session_state,
        ctx.state,
        ctx.viewer.username,
        "denied",
        None,
        requested_code=visible_controls(code[:50]),
        reason="control characters",
    )
    st.stop()

matches = patients_with_code(ctx.platform, ctx.viewer, code)
record = st.query_params.get("record")
if record is not None:  # opened from a list: that row's record, if it has this code and is in scope
    matches = [p for p in matches if str(p.patient_id) == record.strip()]
if len(matches) > 1:
    st.title(md(code))
    st.error(
        ngettext(
            "{n} patient record in your caseload shares this code on the platform (a data-quality "
            "problem to correct there). Choose the record you mean:",
            "{n} patient records in your caseload share this code on the platform (a data-quality "
            "problem to correct there). Choose the record you mean:",
            len(matches),
        ).format(n=len(matches)),
        icon=":material/content_copy:",
    )
    for p in matches:
        enrolled = (
            _("enrolled {day}").format(day=i18n.format_day(local_date(p.enrolled_at, tz)))
            if p.enrolled_at
            else _("enrolment date missing")
        )
        if st.button(
            f"{md(patient_label(p.code, p.display_name))} · {md(p.programme or _('no programme'))} · {enrolled}",
            key=f"record_{p.patient_id}",
        ):
            open_patient(p.code, p.patient_id)
    st.stop()
patient = matches[0] if matches else None
if patient is None:
    st.title(_("Patient"))
    st.error(_(DENIED))
    # The same words whether or not the code exists; the audit names the patient when it
    # does, so that patient's team lead sees the attempt (README, "Audit trail").
    for requested in audit.requested_patients(ctx.platform, code) or [None]:
        audit_once(st.session_state, ctx.state, ctx.viewer.username, "denied", requested, requested_code=code[:50])
    st.stop()
audit_once(st.session_state, ctx.state, ctx.viewer.username, "open_record", patient.patient_id)
if ctx.viewer.role == PEER_SUPPORTER:  # their own view: no item answers, no risk task (issue 20)
    peer_patient_view(ctx, patient)
    st.stop()

version = (cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, patient.patient_id), data_version())
page = cached.patient_page(
    ctx.platform,
    ctx.state,
    ctx.config.db_url,
    ctx.viewer,
    patient,
    settings,
    ctx.config.timezone.key,
    version,
)
rows, summary, judged_flags, as_of = page.rows, page.summary, page.judged, page.as_of
patient_flags = judged_flags[judged_flags["acked_at"].isna()]
handled = judged_flags[judged_flags["acked_at"].notna()]
facts = summary.iloc[0]
episode = episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, settings)
follow_up = follow_up_responses(rows.responses, patient.ended_at, settings)  # never in the episode's outcomes
now = as_of


day = functools.partial(i18n.format_day_or_dash, tz=tz)  # a day of the record, or a dash


# ------------------------------------------------------------------ header
st.title(md(patient_label(patient.code, patient.display_name)))
show_confirmation()
week = treatment_week(pd.Series([now]), patient.enrolled_at).iloc[0]
status_words = _(STATUS_LABELS[patient.status]) if patient.status in STATUS_LABELS else None
st.markdown(
    _("**{programme}** · therapist **{therapist}** · GP **{gp}**").format(
        programme=md(patient.programme or _("no programme")),
        therapist=md(patient.therapist or _("unassigned")),
        gp=md(patient.gp or _("none recorded")),
    )
    + "  \n"
    + _("Enrolled {day} · treatment week {week} · {status}").format(
        day=day(patient.enrolled_at),
        week=_("unknown") if pd.isna(week) else week,
        status=md(status_words or patient.status or _("status not recorded")),
    )
    + (_(" (ended {day})").format(day=day(patient.ended_at)) if patient.ended_at else "")
)
for name, last in page.supporters:
    # peer contact is its own fact: shown here, never clearing the therapist's reasons
    contact = (
        _("last message to the patient {day}").format(day=day(last))
        if last is not None
        else _("no message to the patient yet")
    )
    st.markdown(_("Peer supporter **{name}** · {contact}").format(name=md(name), contact=contact))
st.caption(freshness_line(as_of, tz))
problems = rows.responses[rows.responses["quality"].notna()]
quality_note(
    cached.data_quality(ctx.platform, ctx.config.db_url, ctx.viewer, settings, patient.patient_id, rows.responses),
    patient_page=True,
    questionnaires=pd.DataFrame(
        {
            _("Date"): [day(t) for t in problems["administered_at"]],
            _("Measure"): [INSTRUMENTS[i].name if i in INSTRUMENTS else i for i in problems["instrument"]],
            _("Problem"): problems["quality"],  # dashboard.quality's words (the domain slice)
            _("Used"): [_("yes") if v else _("no (left out)") for v in problems["valid"]],
        }
    ),
)
scales = trajectory_scales(episode, patient.primary_instrument)  # every instrument answered, primary first
outcomes = summaries(episode, scales)
at_follow_up = follow_up_scores(outcomes, follow_up, patient.ended_at)
if patient_flags.empty and not handled.empty:
    # Not the grey "no flags": every reason was handled by someone, which is not the same
    # as nothing being wrong (issue 16, item 11).
    st.info(_("No open reasons: every reason the triage rules raised is handled (below)."), icon=":material/task_alt:")
else:
    flag_badges(patient_flags)
gp_followups = page.followups
if paused_until := pauses(gp_followups, local_date(now, ctx.config.timezone)).get(patient.patient_id):
    st.info(
        _("Programme paused by the GP until {day}: inactivity and no-contact reasons are held until then.").format(
            day=i18n.format_day(paused_until)
        ),
        icon=":material/pause_circle:",
    )
handlers = audit.actor_labels(ctx.platform, sorted(set(handled["acked_by"]))) if not handled.empty else {}
for h in handled.itertuples():
    st.caption(
        _("Handled: {flag} ({reason}), marked by {who} on {when}").format(
            flag=flag_title(h.flag).lower(),
            reason=md(h.reason),
            who=md(handlers[h.acked_by]),
            when=i18n.format_day_time(h.acked_at.to_pydatetime(), tz, year=False),
        )
        + (f": “{md(h.ack_note)}”" if h.ack_note else "")
    )
    if h.acked_by == ctx.viewer.username or ctx.viewer.role == "team_lead":
        withdraw_panel(ctx, int(h.ack_id), flag_title(h.flag).lower())

for s in current(outcomes):
    if s.most_severe:
        if handled.empty:
            words = (
                _("{scale} {score} on {day} is in {zone}.")
                if s.scale.zones
                else _("{scale} {score} on {day} is in the {band} band.")
            )
        else:
            words = (
                _("{scale} {score} on {day} is still in {zone}: handling a reason does not change the score.")
                if s.scale.zones
                else _(
                    "{scale} {score} on {day} is still in the {band} band: handling a reason does not change the score."
                )
            )
        st.warning(
            md(
                words.format(
                    scale=s.scale.name,
                    score=display_score(s.latest),
                    day=day(s.latest_at),
                    zone=band_words(s.band_latest),
                    band=band_words(s.band_latest),
                )
            ),
            icon=":material/priority_high:",
        )
answered_phq = rows.responses[rows.responses["valid"] & (rows.responses["instrument"] == "PHQ9")]
for f in at_follow_up:  # a follow-up score in the highest band is said as loudly as the episode's
    if f.summary.scale.bands and f.band == f.summary.scale.bands[-1].label:
        st.warning(
            md(
                _("{scale} {score} at follow-up on {day} is in the {band} band.").format(
                    scale=f.summary.scale.name, score=display_score(f.score), day=day(f.at), band=band_words(f.band)
                )
            ),
            icon=":material/priority_high:",
        )
latest_phq = answered_phq.sort_values(["administered_at", "response_id"]).tail(1)  # the episode's or after
item9 = None if latest_phq.empty else latest_phq["risk_item_score"].iloc[0]
if (
    item9 is not None
    and pd.notna(item9)
    and item9 > 0
    and not patient_flags["flag"].eq("risk").any()
    and handled["flag"].eq("risk").any()
):
    st.warning(
        _("The latest PHQ-9 ({day}) answered item 9 with {score}: handled, and the answer stands.").format(
            day=day(latest_phq["administered_at"].iloc[0]), score=int(item9)
        )
        + " "
        + _(RISK_NOTE),
        icon=":material/emergency_home:",
    )
if ctx.viewer.role in MAY_ACKNOWLEDGE and not patient_flags.empty:
    with st.expander(
        _("Mark reasons handled ({n} open)").format(n=patient_flags["flag"].nunique()), icon=":material/task_alt:"
    ):
        if handle_reasons(ctx, patient.patient_id, patient.code, patient_flags, "patient"):
            st.rerun()

# ------------------------------------------------------------------ outcome summary
st.subheader(_("Outcomes"))
if not outcomes:
    st.info(_("No valid questionnaire yet: outcomes appear after the first scored response."))
else:
    st.dataframe(
        pd.DataFrame(
            [
                {  # the safety columns first: status and reliable change beside the measure
                    _("Measure"): s.scale.name,
                    _("Status"): s.status,
                    _("Reliable change"): change_words(s.reliable_change) if s.n > 1 else _("only a baseline so far"),
                    _("Change"): s.change_words,
                    _("Latest"): f"{s.shown('latest')} · {day(s.latest_at)}",
                    _("Baseline"): f"{s.shown('baseline')} · {day(s.baseline_at)}",
                    _("Criterion"): s.scale.criterion_text,
                }
                for s in outcomes
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={  # 120 px: Status and Reliable change stay whole in a 1024 px window
            _("Measure"): st.column_config.TextColumn(_("Measure"), pinned=True, width=120)
        },
    )
    plan = anxiety_plan(patient.programme_code, settings)
    paired = nhs_status(episode, plan, settings)
    if paired is None:
        st.caption(
            md(
                _("NHS Talking Therapies paired status ({measures}): no paired scores yet.").format(
                    measures=planned_measures_text(plan)
                )
            )
        )
    else:
        nhs, words = paired.outcome, []
        if nhs.recovery is None:
            words.append(_("not at caseness at the start, so recovery does not apply"))
        else:
            words.append(_("recovered") if nhs.recovery else _("not recovered"))
        words.append(_("reliably improved") if nhs.reliable_improvement else _("not reliably improved"))
        if nhs.reliable_recovery:
            words.append(_("reliable recovery"))
        if nhs.reliable_deterioration:
            words.append("**" + _("reliable deterioration") + "**")
        st.markdown(
            _("NHS Talking Therapies paired status, first and last {measures}: {words}.").format(
                measures=md(paired.measures_text), words=", ".join(words)
            )
        )
    follow_up_section(
        patient.ended_at,
        at_follow_up,
        follow_up_outcome(episode, follow_up, plan, settings),
        paired.measures_text if paired is not None else planned_measures_text(plan),
        settings,
        day,
    )
fhir_download(ctx, patient)

# ------------------------------------------------------------------ trajectories
st.subheader(_("Symptom trajectories"))
risk_rows = rows.responses[(rows.responses["instrument"] == "PHQ9") & (rows.responses["risk_item_score"] > 0)]
if not scales:
    st.info(_("No scored questionnaires to chart yet."))
clinic = gp_followups.dropna(subset=["clinic_phq9"])
clinic = pd.DataFrame({"date": pd.to_datetime(clinic["held_on"]), "score": clinic["clinic_phq9"].astype(float)})
for scale in scales:
    on_phq9 = scale.instrument == "PHQ9" and not scale.not_applicable
    risk = None
    if on_phq9 and not risk_rows.empty:
        risk = pd.DataFrame({"date": risk_rows["administered_at"], "item_score": risk_rows["risk_item_score"]})
    chart(
        charts.trajectory_chart(
            scale.instrument,
            episode,
            risk,
            clinic if on_phq9 else None,
            tz,
            not_applicable=scale.not_applicable,
            follow_up=follow_up,
            ended_at=patient.ended_at,
        )
    )
    rows_of = series_rows(episode, scale)
    if scale.zones:  # AUDIT: change as zone transitions (clinical-reference 4)
        moves = zone_transitions(scale, rows_of)
        st.caption(
            md(
                _(
                    "{scale} zone transitions: {moves}. An arrow marks a zone moved one up by the item rule ({rule})."
                ).format(
                    scale=scale.name,
                    moves="; ".join(f"{day(t.at)} {t.words}" for t in moves)
                    if moves
                    else _("none, the same zone throughout"),
                    rule=escalation_text(scale.instrument),
                )
            )
        )
    table = subscale_table(rows.subscales, rows_of) if not scale.not_applicable else pd.DataFrame()
    if not table.empty:
        responses = ngettext("{n} response", "{n} responses", len(table)).format(n=len(table))
        with st.expander(md(_("{scale} subscales ({responses})").format(scale=scale.name, responses=responses))):
            st.dataframe(
                table.assign(administered_at=[day(t) for t in table["administered_at"]])
                .rename(columns={"administered_at": _("Date")})
                .map(lambda v: v if isinstance(v, str) else ("—" if pd.isna(v) else str(display_score(v)))),
                hide_index=True,
                width="stretch",
            )
            st.caption(
                _("Subscale sums; no bands (the reference defines none for subscale totals). —: an item missing.")
            )
if not clinic.empty:
    st.caption(
        _(
            "Crosses marked 'clinic' are PHQ-9 totals a GP took in clinic: shown for context, never used for "
            "baseline, outcomes or flags (they have no item 9)."
        )
    )
if not risk_rows.empty:
    st.markdown(_("**PHQ-9 item 9 answered above 0** (thoughts of being better off dead or of self-harm):"))
    for r in risk_rows.sort_values("administered_at", ascending=False).itertuples():
        st.markdown(
            "- " + _("{day}: item 9 = {score}").format(day=day(r.administered_at), score=int(r.risk_item_score))
        )
elif any(s.instrument == "PHQ9" for s in scales):
    st.caption(_(NO_RISK_ANSWER))
answers = list(rows.responses.itertuples(index=False))
st.caption(risk_item_status(last_risk_assessment(answers, pd.Timestamp(patient.enrolled_at)), tz))
phq_episode = episode[episode["instrument"] == "PHQ9"]
checkpoints = on_track_status(
    list(phq_episode.itertuples(index=False)), patient.enrolled_at, pd.Timestamp(now), settings
)
if checkpoints:
    st.caption(
        _("Early response (PHQ-9, clinical-reference 6.2): {weeks}").format(
            weeks=" · ".join(
                _("week {week}: {status}").format(week=w, status=checkpoint_words(status))
                for w, status, _why in checkpoints
            )
        )
    )

# ------------------------------------------------------------------ modules
st.subheader(_("Module progress"))
timeline = module_timeline(rows.modules, patient.enrolled_at, now, settings)
done = int(timeline["completed_at"].notna().sum())
current = current_module(timeline)
st.markdown(
    ngettext("**{done} of {n}** module completed", "**{done} of {n}** modules completed", len(timeline)).format(
        done=done, n=len(timeline)
    )
    + (_(" · current module {module}").format(module=current) if current else _(" · all completed"))
    + _(" · expected pace one module per {days} days (tick = due date)").format(
        days=i18n.format_number(settings.module_pace_days)
    )
)
if not timeline.empty:
    chart(charts.module_timeline_chart(timeline, now, tz))
with st.expander(_("Module dates")):
    module_dates_table(timeline, day)

# ------------------------------------------------------------------ engagement
st.subheader(_("Engagement"))
eng = page.engagement
c1, c2, c3 = st.columns(3)
c1.metric(
    _("Days since last activity"),
    _("unknown") if pd.isna(facts["days_since_activity"]) else int(facts["days_since_activity"]),
)
c2.metric(_("Last clinician contact"), day(eng.last_clinician_contact))
waiting = _("not waiting") if eng.waiting_since is None else waited((now - eng.waiting_since).total_seconds() / 3600)
c3.metric(
    _("Waiting for a reply"), waiting, help=_("Since the patient's earliest message after the last clinician contact")
)
if charts.weekly_activity(eng.weekly):
    chart(charts.weekly_activity_chart(eng.weekly))
else:
    st.info(_("No logins or exercises yet: nothing to chart (messages, if any, are in the weekly numbers)."))
with st.expander(_("Weekly numbers, including messages each way")):
    st.dataframe(
        eng.weekly.rename(columns=weekly_labels()),
        hide_index=True,
        width="stretch",
    )

# ------------------------------------------------------------------ GP follow-ups
st.subheader(_("GP follow-ups"))
if gp_followups.empty:
    st.caption(_("No GP follow-ups are logged for this patient."))
else:
    st.dataframe(
        pd.DataFrame(
            {
                _("Date"): [i18n.format_day(d) for d in gp_followups["held_on"]],
                _("GP"): gp_followups["gp"].map(audit.actor_labels(ctx.platform, sorted(set(gp_followups["gp"])))),
                _("Minutes"): gp_followups["minutes"],
                _("How"): gp_followups["modality"],  # a stored code (gp_followups, the followups slice)
                # blank where nothing was recorded: Streamlit draws a missing value as "None"
                _("Module"): [blank_or_int(v) for v in gp_followups["module_position"]],
                _("Clinic PHQ-9"): [blank_or_int(v) for v in gp_followups["clinic_phq9"]],
                _("Action"): gp_followups["action"].map(ACTIONS),
                _("Next"): [
                    i18n.format_day(d, year=False) if isinstance(d, date) else "" for d in gp_followups["next_on"]
                ],
                _("Note"): gp_followups["note"].fillna(""),
            }
        ),
        hide_index=True,
        width="stretch",
    )
agenda_entry(ctx, patient.patient_id, version)
if ctx.viewer.role == "gp":
    own = gp_followups[gp_followups["gp"] == ctx.viewer.username]
    with st.expander(_("Log a follow-up"), expanded=False, icon=":material/edit_note:"):
        completed = timeline.loc[timeline["completed_at"].notna(), "position"]
        if followup_form(
            ctx,
            patient.patient_id,
            patient.code,
            [(int(p), str(t)) for p, t in zip(timeline["position"], timeline["title"])],
            int(completed.max()) if not completed.empty else None,
            local_date(patient.enrolled_at, tz),
        ):
            st.rerun()
    if not own.empty:
        with st.expander(_("Correct or withdraw one of your entries"), icon=":material/history:"):
            correction_panel(ctx, own)
