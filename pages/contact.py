"""Who to contact today: a peer supporter's list (dashboard.peer_support)."""

import pandas as pd
import streamlit as st

from dashboard import i18n
from dashboard.flags import title as flag_title
from dashboard.i18n import gettext as _
from dashboard.text import md
from dashboard.timeutil import freshness_line
from dashboard.triage import UNASSIGNED, flag_counts, why_text
from dashboard.ui import cached
from dashboard.ui.components.compact_list import CompactItem, compact_list, wide_table
from dashboard.ui.components.handle_reasons import handle_reasons, show_confirmation
from dashboard.ui.components.selectable_table import selected_row
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.session import bump_data_version, data_version, table_key
from dashboard.ui.views import KEYBOARD_HINT

ctx = get_context()
settings, viewer = ctx.config.settings, ctx.viewer
version = (cached.writes(ctx.platform, ctx.state, ctx.config.db_url, viewer), data_version())
st.title(_("Who to contact today"))
show_confirmation()
contacts, as_of = cached.contact_list(
    ctx.platform, ctx.state, ctx.config.db_url, viewer, settings, ctx.config.timezone.key, version
)
result = contacts.triage
st.caption(freshness_line(as_of, ctx.config.timezone))
st.caption(
    _(
        "Your list: messages waiting, modules to talk about, and patients who have gone quiet. A risk answer is "
        "never yours to handle: the therapist reviews it, and each patient's page says where it stands."
    )
)
counts = flag_counts(result.open_flags)
shown = [f"**{flag_title(k)}** {n}" for k, n in counts.items() if n]
st.markdown(" · ".join(shown) if shown else _("No open reasons."))

queue = result.queue
if queue.empty:
    st.success(_("Nobody in your care needs a contact from you right now."), icon=":material/check_circle:")
    st.stop()

table = pd.DataFrame(
    {
        "code": queue["code"],
        "waiting_days": queue["waiting_days"],
        "why": [why_text(r, f, p) for r, f, p in zip(queue["reasons"], queue["flags"], queue["paused_until"])],
        "therapist": queue["therapist"].map(lambda n: _("unassigned") if n == UNASSIGNED else n),
        "risk": [contacts.risk.get(pid, "") for pid in queue["patient_id"]],
    }
)
columns = {
    "code": st.column_config.TextColumn(_("Patient"), width=80, pinned=True),
    "waiting_days": st.column_config.NumberColumn(
        _("Waiting"), width=70, format=_("%d d"), help=_("Days since the most urgent need began")
    ),
    "why": st.column_config.TextColumn(_("Why"), width=320, help=_("The most urgent reason in full, then the others")),
    "therapist": st.column_config.TextColumn(_("Therapist"), width=110),
    "risk": st.column_config.TextColumn(
        _("Risk answer"), width=290, help=_("Where a risk answer stands with the therapist: never a task for you")
    ),
}
with wide_table("contact"):
    st.caption(
        i18n.ngettext(
            "{n} patient to contact · select a row to mark the reasons handled",
            "{n} patients to contact · select a row to mark the reasons handled",
            len(queue),
        ).format(n=len(queue))
    )
    st.caption(_(KEYBOARD_HINT))
    chosen = selected_row(table, f"contact_table_{table_key(version)}", columns)
compact_list(
    "contact",
    [
        CompactItem(
            r.code,
            r.patient_id,
            _("waiting {n} d").format(n=r.waiting_days),
            why + (" · " + _("risk answer: {status}").format(status=risk) if risk else ""),
        )
        for r, why, risk in zip(queue.itertuples(), table["why"], table["risk"])
    ],
    i18n.ngettext(
        "{n} patient · tap a code to open the patient", "{n} patients · tap a code to open the patient", len(queue)
    ).format(n=len(queue)),
)
if chosen is not None:
    st.session_state["contact_patient"] = int(queue["patient_id"].iloc[chosen])
working_on = st.session_state.get("contact_patient")
if working_on not in set(queue["patient_id"].tolist()):  # handled meanwhile, or left this list
    working_on = st.session_state["contact_patient"] = None
if working_on is None:
    st.stop()


def close_patient() -> None:
    """The dialog was dismissed: no patient is worked on, and a fresh table drops the selection."""
    st.session_state["contact_patient"] = None
    bump_data_version()


@st.dialog(_("Mark reasons handled"), width="large", on_dismiss=close_patient)
def handling_dialog(row: pd.Series, open_rows: pd.DataFrame) -> None:
    st.subheader(md(row["code"]))
    if st.button(_("Open patient page"), icon=":material/person:"):
        open_patient(row["code"], row["patient_id"])
    if risk := contacts.risk.get(int(row["patient_id"])):
        st.info("**" + _("Risk answer") + "**: " + md(risk) + ".", icon=":material/shield_person:")
    st.caption(_("Marking these handled empties your list only: the therapist's own reasons stay open for them."))
    if handle_reasons(ctx, int(row["patient_id"]), row["code"], open_rows, "contact"):
        st.session_state["contact_patient"] = None
        st.rerun()


row = queue[queue["patient_id"] == working_on].iloc[0]
handling_dialog(row, result.open_flags[result.open_flags["patient_id"] == row["patient_id"]])
