"""Triage: who needs a message today, and why."""

import time

import pandas as pd
import streamlit as st

from dashboard import i18n
from dashboard.flags import RISK_KINDS
from dashboard.flags import title as flag_title
from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext
from dashboard.sessions import mark_timer_run
from dashboard.text import md, url_part
from dashboard.timeutil import freshness_line
from dashboard.triage import UNASSIGNED, flag_counts, why_text
from dashboard.ui import cached
from dashboard.ui.components.compact_list import CompactItem, compact_list, wide_table
from dashboard.ui.components.handle_reasons import handle_reasons, show_confirmation
from dashboard.ui.components.quality_note import team_quality_note
from dashboard.ui.components.selectable_table import selected_row
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.session import bump_data_version, data_version, table_key
from dashboard.ui.views import KEYBOARD_HINT, RISK_NOTE

ctx = get_context()
settings, viewer = ctx.config.settings, ctx.viewer
zone = ctx.config.timezone.key  # names the days shown; part of the cache key
# The queue holds words (reasons, latest score): the language is part of the cache key.
version = (
    cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer),
    data_version(),
    i18n.current_language(),
)
st.title(_("Triage"))
show_confirmation()

therapist = None
if viewer.role == "team_lead":
    everyone = cached.triage(ctx.platform, ctx.state, ctx.config.db_url, viewer, settings, zone, None, version)[0]
    names = sorted(n for n in everyone.patients["therapist"].unique() if n != UNASSIGNED)
    everybody = "All therapists"  # the option's value; the label is translated
    # translated now, in this run's language (a format_func may be called outside the run)
    labels = {everybody: _("All therapists"), UNASSIGNED: _("unassigned")}
    choice = st.selectbox(
        _("Therapist"),
        [everybody, *names, UNASSIGNED],
        key="triage_therapist",
        format_func=lambda n: labels.get(n, n),
        help=_("Cover an absent colleague by choosing their caseload"),
    )
    therapist = None if choice == everybody else choice

result, as_of = cached.triage(ctx.platform, ctx.state, ctx.config.db_url, viewer, settings, zone, therapist, version)
st.session_state["triage_loaded_at"] = time.monotonic()
st.caption(
    freshness_line(as_of, ctx.config.timezone)
    + _(" · reloads every {seconds} s").format(seconds=i18n.format_number(int(settings.queue_refresh_seconds)))
)
team_quality_note(ctx.viewer.role, cached.data_quality(ctx.platform, ctx.config.db_url, viewer, settings))

counts = flag_counts(result.open_flags)
shown = [f"**{flag_title(k)}** {n}" for k, n in counts.items() if n]
st.markdown(" · ".join(shown) if shown else _("No open reasons."))
escalated = int(result.queue["escalated"].sum()) if not result.queue.empty else 0
if escalated:
    days = int(settings.risk_escalation_working_days)
    within = ngettext("within {n} working day", "within {n} working days", days).format(n=i18n.format_number(days))
    st.error(
        ngettext(
            "{n} patient with a risk answer or a supporter's concern not acknowledged {within}.",
            "{n} patients with a risk answer or a supporter's concern not acknowledged {within}.",
            escalated,
        ).format(n=i18n.format_number(escalated), within=within)
        + " "
        + _(RISK_NOTE),
        icon=":material/emergency_home:",
    )

queue = result.queue
if queue.empty:
    st.success(
        _("Nobody in your team needs a clinician right now.")
        if viewer.role == "team_lead"
        else _("Nobody in your caseload needs you right now."),
        icon=":material/check_circle:",
    )
    st.stop()

# Safety first: the code and the escalation stay pinned on the left at any width.
table = pd.DataFrame(
    {
        "code": queue["code"],
        "escalated": [_("yes") if e else "" for e in queue["escalated"]],
        "waiting_days": queue["waiting_days"],
        "why": [why_text(r, f, p) for r, f, p in zip(queue["reasons"], queue["flags"], queue["paused_until"])],
        "latest": queue["latest"],
    }
)
columns = {
    "code": st.column_config.TextColumn(_("Patient"), width=80, pinned=True),
    "escalated": st.column_config.TextColumn(
        _("Escalated"),
        width=85,
        pinned=True,
        help=_(
            "A risk answer nobody has handled within the working-day deadline, counted from the earliest "
            "unhandled answer; it comes before a risk of the same grade that is not"
        ),
    ),
    "waiting_days": st.column_config.NumberColumn(
        _("Waiting"), width=70, format=_("%d d"), help=_("Days since the most urgent need began")
    ),
    # Why takes what the fixed columns leave of a 1400 px window (about 70 characters; a
    # lead's Therapist column takes 110 px of it): the dialog shows every reason in full.
    "why": st.column_config.TextColumn(
        _("Why"),
        width=380 if viewer.role == "team_lead" else 480,
        help=_("The most urgent reason in full, then the others by name: select the row for all"),
    ),
    "latest": st.column_config.TextColumn(
        _("Latest score"), width=160, help=_("Latest valid score on the primary measure")
    ),
}
if viewer.role == "team_lead":
    table.insert(3, "therapist", queue["therapist"].map(lambda n: _("unassigned") if n == UNASSIGNED else n))
    columns["therapist"] = st.column_config.TextColumn(_("Therapist"), width=110)
if ctx.config.platform_url:
    table["thread"] = [ctx.config.platform_url.format(code=url_part(c)) for c in queue["code"]]
    columns["thread"] = st.column_config.LinkColumn(_("Messages"), display_text=_("open thread"))

with wide_table("triage"):
    st.caption(
        ngettext(
            "{n} patient needs you · select a row to see the reasons and mark them handled",
            "{n} patients need you · select a row to see the reasons and mark them handled",
            len(queue),
        ).format(n=i18n.format_number(len(queue)))
    )
    st.caption(_(KEYBOARD_HINT))
    # The key changes with every write of this viewer: a fresh table has no stale row
    # selection, which after an acknowledgement would point at a different patient.
    chosen = selected_row(table, f"triage_table_{table_key(version)}", columns)
compact_list(
    "triage",
    [
        CompactItem(
            r.code,
            r.patient_id,
            _("waiting {days} d").format(days=i18n.format_number(r.waiting_days))
            + (_(" · escalated") if r.escalated else ""),
            why,
            urgent=bool(r.escalated) or bool(RISK_KINDS & set(r.flags)),
        )
        for r, why in zip(queue.itertuples(), table["why"])
    ],
    ngettext(
        "{n} patient · tap a code to open the patient", "{n} patients · tap a code to open the patient", len(queue)
    ).format(n=i18n.format_number(len(queue))),
)
# The patient being worked on is kept by patient id: the queue's order changes as
# reasons are handled, so a row index would point at someone else, and a platform
# view may give two patients one code.
if chosen is not None:
    st.session_state["triage_patient"] = int(queue["patient_id"].iloc[chosen])
working_on = st.session_state.get("triage_patient")
if working_on not in set(queue["patient_id"].tolist()):  # handled meanwhile, or left this list
    working_on = st.session_state["triage_patient"] = None

if working_on is None:

    @st.fragment(run_every=float(settings.queue_refresh_seconds))
    def auto_refresh() -> None:
        """A timer only while no handling form is open; filters are widget
        state and survive the rerun."""
        if time.monotonic() - st.session_state.get("triage_loaded_at", 0) >= settings.queue_refresh_seconds:
            mark_timer_run(st.session_state)  # not the clinician's action: the idle timeout keeps counting
            st.rerun()

    auto_refresh()
    st.stop()


def close_patient() -> None:
    """The dialog was dismissed (Esc, the cross, a click outside): no patient is worked
    on, and a fresh table drops the row selection that would open it again."""
    st.session_state["triage_patient"] = None
    bump_data_version()


# The form opens in a dialog over the table, where the clinician looks, with the
# keyboard focus inside it (a form below a 25-row table was out of sight).
@st.dialog(_("Mark reasons handled"), width="large", on_dismiss=close_patient)
def handling_dialog(row: pd.Series, open_rows: pd.DataFrame) -> None:
    st.subheader(md(row["code"]))
    if st.button(_("Open patient page"), icon=":material/person:"):
        open_patient(row["code"], row["patient_id"])
    if open_rows["flag"].isin(RISK_KINDS).any():
        st.caption(_(RISK_NOTE))
    if handle_reasons(ctx, int(row["patient_id"]), row["code"], open_rows, "triage"):
        st.session_state["triage_patient"] = None
        st.rerun()


row = queue[queue["patient_id"] == working_on].iloc[0]
handling_dialog(row, result.open_flags[result.open_flags["patient_id"] == row["patient_id"]])
