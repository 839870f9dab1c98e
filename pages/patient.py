"""Patient: progress, symptom trajectories, engagement and data quality for one patient."""

from datetime import date

import pandas as pd
import streamlit as st

from dashboard import audit, charts
from dashboard.acks import MAY_ACKNOWLEDGE
from dashboard.flags import FLAG_KINDS, last_risk_assessment, on_track_status, pauses, risk_item_status
from dashboard.gp_followups import ACTIONS, current_followups
from dashboard.measures import INSTRUMENTS, display_score
from dashboard.outcomes import anxiety_plan, planned_measures_text
from dashboard.patient import (
    current,
    current_module,
    engagement,
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
from dashboard.peer_support import supporters
from dashboard.record_audit import audit_once
from dashboard.schema import PEER_SUPPORTER
from dashboard.text import control_problem, count_of, md, visible_controls
from dashboard.timeutil import freshness_line, local_date, local_time
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
from dashboard.ui.components.module_dates import module_dates_table
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

DENIED = "No such patient in your caseload."

ctx = get_context()
settings, tz = ctx.config.settings, ctx.config.timezone
code = (st.query_params.get("patient") or "").strip()
if not code:
    st.title("Patient")
    st.info("Open a patient by selecting their row in a patient list.")
    st.stop()

refused = control_problem(code, "This patient link")
if refused:  # before any query: PostgreSQL cannot even compare a code holding NUL
    st.title("Patient")
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
        f"{len(matches)} patient records in your caseload share this code on the platform (a data-quality "
        "problem to correct there). Choose the record you mean:",
        icon=":material/content_copy:",
    )
    for p in matches:
        enrolled = f"enrolled {local_date(p.enrolled_at, tz):%d %b %Y}" if p.enrolled_at else "enrolment date missing"
        if st.button(
            f"{md(patient_label(p.code, p.display_name))} · {md(p.programme or 'no programme')} · {enrolled}",
            key=f"record_{p.patient_id}",
        ):
            open_patient(p.code, p.patient_id)
    st.stop()
patient = matches[0] if matches else None
if patient is None:
    st.title("Patient")
    st.error(DENIED)
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
rows, summary, judged_flags, as_of = cached.patient_page(
    ctx.platform,
    ctx.state,
    ctx.config.db_url,
    ctx.viewer,
    patient,
    settings,
    ctx.config.timezone.key,
    version,
)
patient_flags = judged_flags[judged_flags["acked_at"].isna()]
handled = judged_flags[judged_flags["acked_at"].notna()]
facts = summary.iloc[0]
episode = episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, settings)
follow_up = follow_up_responses(rows.responses, patient.ended_at, settings)  # never in the episode's outcomes
now = as_of


def day(ts) -> str:
    return "—" if ts is None or pd.isna(ts) else f"{local_time(pd.Timestamp(ts).to_pydatetime(), tz):%d %b %Y}"


# ------------------------------------------------------------------ header
st.title(md(patient_label(patient.code, patient.display_name)))
show_confirmation()
week = treatment_week(pd.Series([now]), patient.enrolled_at).iloc[0]
st.markdown(
    f"**{md(patient.programme or 'no programme')}** · therapist **{md(patient.therapist or 'unassigned')}** · "
    f"GP **{md(patient.gp or 'none recorded')}**  \n"
    f"Enrolled {day(patient.enrolled_at)} · treatment week {'unknown' if pd.isna(week) else week} · "
    f"{md(STATUS_LABELS.get(patient.status, patient.status or 'status not recorded'))}"
    + (f" (ended {day(patient.ended_at)})" if patient.ended_at else "")
)
for name, last in supporters(ctx.platform, ctx.viewer, patient.patient_id, now):
    # peer contact is its own fact: shown here, never clearing the therapist's reasons
    contact = f"last message to the patient {day(last)}" if last is not None else "no message to the patient yet"
    st.markdown(f"Peer supporter **{md(name)}** · {contact}")
st.caption(freshness_line(as_of, tz))
problems = rows.responses[rows.responses["quality"].notna()]
quality_note(
    cached.data_quality(ctx.platform, ctx.config.db_url, ctx.viewer, settings, patient.patient_id),
    patient_page=True,
    questionnaires=pd.DataFrame(
        {
            "Date": [day(t) for t in problems["administered_at"]],
            "Measure": [INSTRUMENTS[i].name if i in INSTRUMENTS else i for i in problems["instrument"]],
            "Problem": problems["quality"],
            "Used": ["yes" if v else "no (left out)" for v in problems["valid"]],
        }
    ),
)
scales = trajectory_scales(episode, patient.primary_instrument)  # every instrument answered, primary first
outcomes = summaries(episode, scales)
at_follow_up = follow_up_scores(outcomes, follow_up, patient.ended_at)
if patient_flags.empty and not handled.empty:
    # Not the grey "no flags": every reason was handled by someone, which is not the same
    # as nothing being wrong (issue 16, item 11).
    st.info("No open reasons: every reason the triage rules raised is handled (below).", icon=":material/task_alt:")
else:
    flag_badges(patient_flags)
gp_followups = current_followups(ctx.state, [patient.patient_id])
if paused_until := pauses(gp_followups, local_date(now, ctx.config.timezone)).get(patient.patient_id):
    st.info(
        f"Programme paused by the GP until {paused_until:%d %b %Y}: inactivity and no-contact reasons are held "
        "until then.",
        icon=":material/pause_circle:",
    )
handlers = audit.actor_labels(ctx.platform, sorted(set(handled["acked_by"]))) if not handled.empty else {}
for h in handled.itertuples():
    st.caption(
        f"Handled: {FLAG_KINDS[h.flag].title.lower()} ({md(h.reason)}), marked by {md(handlers[h.acked_by])} on "
        f"{local_time(h.acked_at.to_pydatetime(), tz):%d %b %H:%M}" + (f": “{md(h.ack_note)}”" if h.ack_note else "")
    )
    if h.acked_by == ctx.viewer.username or ctx.viewer.role == "team_lead":
        withdraw_panel(ctx, int(h.ack_id), FLAG_KINDS[h.flag].title.lower())

for s in current(outcomes):
    if s.most_severe:
        st.warning(
            md(
                f"{s.scale.name} {display_score(s.latest)} on {day(s.latest_at)} is "
                f"{'still ' if not handled.empty else ''}in "
                + (s.band_latest if s.scale.zones else f"the {s.band_latest} band")
            )
            + (": handling a reason does not change the score." if not handled.empty else "."),
            icon=":material/priority_high:",
        )
answered_phq = rows.responses[rows.responses["valid"] & (rows.responses["instrument"] == "PHQ9")]
for f in at_follow_up:  # a follow-up score in the highest band is said as loudly as the episode's
    if f.summary.scale.bands and f.band == f.summary.scale.bands[-1].label:
        st.warning(
            md(f"{f.summary.scale.name} {display_score(f.score)} at follow-up on {day(f.at)} is in the {f.band} band."),
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
        f"The latest PHQ-9 ({day(latest_phq['administered_at'].iloc[0])}) answered item 9 with {int(item9)}: "
        f"handled, and the answer stands. {RISK_NOTE}",
        icon=":material/emergency_home:",
    )
if ctx.viewer.role in MAY_ACKNOWLEDGE and not patient_flags.empty:
    with st.expander(f"Mark reasons handled ({patient_flags['flag'].nunique()} open)", icon=":material/task_alt:"):
        if handle_reasons(ctx, patient.patient_id, patient.code, patient_flags, "patient"):
            st.rerun()

# ------------------------------------------------------------------ outcome summary
st.subheader("Outcomes")
if not outcomes:
    st.info("No valid questionnaire yet: outcomes appear after the first scored response.")
else:
    st.dataframe(
        pd.DataFrame(
            [
                {  # the safety columns first: status and reliable change beside the measure
                    "Measure": s.scale.name,
                    "Status": s.status,
                    "Reliable change": s.reliable_change if s.n > 1 else "only a baseline so far",
                    "Change": s.change_words,
                    "Latest": f"{s.shown('latest')} · {day(s.latest_at)}",
                    "Baseline": f"{s.shown('baseline')} · {day(s.baseline_at)}",
                    "Criterion": s.scale.criterion_text,
                }
                for s in outcomes
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={  # 120 px: Status and Reliable change stay whole in a 1024 px window
            "Measure": st.column_config.TextColumn("Measure", pinned=True, width=120)
        },
    )
    plan = anxiety_plan(patient.programme_code, settings)
    paired = nhs_status(episode, plan, settings)
    if paired is None:
        st.caption(md(f"NHS Talking Therapies paired status ({planned_measures_text(plan)}): no paired scores yet."))
    else:
        nhs, words = paired.outcome, []
        if nhs.recovery is None:
            words.append("not at caseness at the start, so recovery does not apply")
        else:
            words.append("recovered" if nhs.recovery else "not recovered")
        words.append("reliably improved" if nhs.reliable_improvement else "not reliably improved")
        if nhs.reliable_recovery:
            words.append("reliable recovery")
        if nhs.reliable_deterioration:
            words.append("**reliable deterioration**")
        st.markdown(
            f"NHS Talking Therapies paired status, first and last {md(paired.measures_text)}: " + ", ".join(words) + "."
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
st.subheader("Symptom trajectories")
risk_rows = rows.responses[(rows.responses["instrument"] == "PHQ9") & (rows.responses["risk_item_score"] > 0)]
if not scales:
    st.info("No scored questionnaires to chart yet.")
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
                f"{scale.name} zone transitions: "
                + ("; ".join(f"{day(t.at)} {t.words}" for t in moves) if moves else "none, the same zone throughout")
                + f". An arrow marks a zone moved one up by the item rule ({escalation_text(scale.instrument)})."
            )
        )
    table = subscale_table(rows.subscales, rows_of) if not scale.not_applicable else pd.DataFrame()
    if not table.empty:
        with st.expander(md(f"{scale.name} subscales ({count_of(len(table), 'response')})")):
            st.dataframe(
                table.assign(administered_at=[day(t) for t in table["administered_at"]])
                .rename(columns={"administered_at": "Date"})
                .map(lambda v: v if isinstance(v, str) else ("—" if pd.isna(v) else str(display_score(v)))),
                hide_index=True,
                width="stretch",
            )
            st.caption("Subscale sums; no bands (the reference defines none for subscale totals). —: an item missing.")
if not clinic.empty:
    st.caption(
        "Crosses marked 'clinic' are PHQ-9 totals a GP took in clinic: shown for context, never used for "
        "baseline, outcomes or flags (they have no item 9)."
    )
if not risk_rows.empty:
    st.markdown("**PHQ-9 item 9 answered above 0** (thoughts of being better off dead or of self-harm):")
    for _, r in risk_rows.sort_values("administered_at", ascending=False).iterrows():
        st.markdown(f"- {day(r['administered_at'])}: item 9 = {int(r['risk_item_score'])}")
elif any(s.instrument == "PHQ9" for s in scales):
    st.caption(NO_RISK_ANSWER)
answers = list(rows.responses.itertuples(index=False))
st.caption(risk_item_status(last_risk_assessment(answers, pd.Timestamp(patient.enrolled_at)), tz))
phq_episode = episode[episode["instrument"] == "PHQ9"]
checkpoints = on_track_status(
    list(phq_episode.itertuples(index=False)), patient.enrolled_at, pd.Timestamp(now), settings
)
if checkpoints:
    st.caption(
        "Early response (PHQ-9, clinical-reference 6.2): "
        + " · ".join(f"week {week}: {status}" for week, status, _ in checkpoints)
    )

# ------------------------------------------------------------------ modules
st.subheader("Module progress")
timeline = module_timeline(rows.modules, patient.enrolled_at, now, settings)
done = int(timeline["completed_at"].notna().sum())
current = current_module(timeline)
st.markdown(
    f"**{done} of {len(timeline)}** modules completed"
    + (f" · current module {current}" if current else " · all completed")
    + f" · expected pace one module per {settings.module_pace_days:g} days (tick = due date)"
)
if not timeline.empty:
    chart(charts.module_timeline_chart(timeline, now, tz))
with st.expander("Module dates"):
    module_dates_table(timeline, day)

# ------------------------------------------------------------------ engagement
st.subheader("Engagement")
eng = engagement(rows, patient.enrolled_at, now)
c1, c2, c3 = st.columns(3)
c1.metric(
    "Days since last activity",
    "unknown" if pd.isna(facts["days_since_activity"]) else int(facts["days_since_activity"]),
)
c2.metric("Last clinician contact", day(eng.last_clinician_contact))
waiting = "not waiting" if eng.waiting_since is None else waited((now - eng.waiting_since).total_seconds() / 3600)
c3.metric("Waiting for a reply", waiting, help="Since the patient's earliest message after the last clinician contact")
if charts.weekly_activity(eng.weekly):
    chart(charts.weekly_activity_chart(eng.weekly))
else:
    st.info("No logins or exercises yet: nothing to chart (messages, if any, are in the weekly numbers).")
with st.expander("Weekly numbers, including messages each way"):
    st.dataframe(
        eng.weekly.rename(
            columns={
                "week": "Week",
                "logins": "Logins",
                "exercises": "Exercises",
                "from_patient": "Messages from patient",
                "to_patient": "Messages from clinician",
                "from_peer": "Messages from peer supporter",
            }
        ),
        hide_index=True,
        width="stretch",
    )

# ------------------------------------------------------------------ GP follow-ups
st.subheader("GP follow-ups")
if gp_followups.empty:
    st.caption("No GP follow-ups are logged for this patient.")
else:
    st.dataframe(
        pd.DataFrame(
            {
                "Date": [f"{d:%d %b %Y}" for d in gp_followups["held_on"]],
                "GP": gp_followups["gp"].map(audit.actor_labels(ctx.platform, sorted(set(gp_followups["gp"])))),
                "Minutes": gp_followups["minutes"],
                "How": gp_followups["modality"],
                # blank where nothing was recorded: Streamlit draws a missing value as "None"
                "Module": [blank_or_int(v) for v in gp_followups["module_position"]],
                "Clinic PHQ-9": [blank_or_int(v) for v in gp_followups["clinic_phq9"]],
                "Action": gp_followups["action"].map(ACTIONS),
                "Next": [f"{d:%d %b}" if isinstance(d, date) else "" for d in gp_followups["next_on"]],
                "Note": gp_followups["note"].fillna(""),
            }
        ),
        hide_index=True,
        width="stretch",
    )
agenda_entry(ctx, patient.patient_id, version)
if ctx.viewer.role == "gp":
    own = gp_followups[gp_followups["gp"] == ctx.viewer.username]
    with st.expander("Log a follow-up", expanded=False, icon=":material/edit_note:"):
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
        with st.expander("Correct or withdraw one of your entries", icon=":material/history:"):
            correction_panel(ctx, own)
