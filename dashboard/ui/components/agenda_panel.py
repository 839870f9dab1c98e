"""The GP's consultation agenda on screen (dashboard.agenda): one screen for the brief
follow-up, from the due list's dialog and the patient page. "What we agreed" prefills
the follow-up form's note, and the printable page (offline HTML) is built and audited
only on click, like every export (dashboard.exports)."""

from __future__ import annotations

import streamlit as st

from dashboard import agenda, i18n
from dashboard.gp_followups import NOTE_MAX_CHARS
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.measures import INSTRUMENTS
from dashboard.record_audit import audit_once
from dashboard.text import md
from dashboard.ui import cached
from dashboard.ui.components.followup_form import prefill_note
from dashboard.ui.context import AppContext

DOWNLOAD_LABEL = N_("Printable agenda (HTML)")
AGREED_LABEL = N_("What we agreed")


def agreed_key(patient_id: int) -> str:
    return f"agenda_agreed_{patient_id}"


def _prefill(patient_id: int) -> None:
    """The agreement typed here becomes the follow-up form's note."""
    prefill_note(patient_id, st.session_state.get(agreed_key(patient_id), ""))


def agenda_entry(ctx: AppContext, patient_id: int, version: tuple, expanded: bool = False) -> None:
    """The pages' entry point: the agenda in an expander, for the roles that have agendas."""
    if agenda.refusal(ctx.viewer) is None:
        with st.expander(_("Consultation agenda"), expanded=expanded, icon=":material/checklist:"):
            agenda_panel(ctx, patient_id, version)


def agenda_panel(ctx: AppContext, patient_id: int, version: tuple) -> agenda.Agenda | None:
    """Draw the agenda of one patient (nothing for a role without agendas); the agenda, or None."""
    if agenda.refusal(ctx.viewer) is not None:
        return None
    tz = ctx.config.timezone
    try:
        a = cached.agenda(
            ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, patient_id, ctx.config.settings, tz.key, version
        )
    except agenda.AgendaRefused as refused:
        st.caption(md(str(refused)))
        return None
    audit_once(st.session_state, ctx.state, ctx.viewer.username, "open_record", patient_id)
    since = agenda.since_words(a, tz)
    # One Markdown block per section: a tight list, so the agenda fits one screen.
    st.markdown(
        "**"
        + _("Modules completed {since}").format(since=since)
        + "**\n\n"
        + (
            "\n".join(
                f"- **{m.position}. {md(m.title)}** · "
                + _("completed {date}").format(date=i18n.format_day_or_dash(m.completed_at, tz))
                + (f"  \n  {md(m.summary)}" if m.summary else "")
                for m in a.modules
            )
            or _("None.")
        )
        + "\n\n**"
        + _("Exercises and homework {since}:").format(since=since)
        + f"** {agenda.activity_words(a)}"
    )
    st.markdown(
        _("**Scores** (now · since the last follow-up · since baseline)")
        + "\n\n"
        + (
            "\n".join(
                f"- **{INSTRUMENTS[s.instrument].name}** " + " · ".join(agenda.score_line(s, a.last_followup, tz))
                for s in a.scores
            )
            or _("No valid questionnaire yet.")
        )
    )
    if a.reasons:
        st.warning(
            "  \n".join(md(agenda.reason_words(r, tz)) for r in a.reasons),
            icon=":material/emergency_home:",
        )
    else:
        st.caption(_("No risk answer, deterioration or not-on-track reason."))
    st.markdown("**" + _("Last clinician contact:") + f"** {md(agenda.contact_words(a, tz))}")
    agreed = st.text_area(
        _(AGREED_LABEL),
        key=agreed_key(patient_id),
        max_chars=NOTE_MAX_CHARS,
        height=80,
        placeholder=_("Plans, the next module, when to meet again"),
        help=_("Goes into the note of the follow-up form below, and onto the printable agenda"),
        on_change=_prefill,
        args=(patient_id,),
    )
    st.download_button(
        _(DOWNLOAD_LABEL),
        agenda.audited_download(ctx.platform, ctx.state, ctx.viewer, patient_id, ctx.config.settings, tz, agreed or ""),
        file_name=agenda.file_name(a.patient),
        mime="text/html",
        on_click="ignore",
        icon=":material/print:",
        key=f"agenda_download_{patient_id}",
        help=_("One page to print or keep offline: open the file in a browser and print it"),
    )
    return a
