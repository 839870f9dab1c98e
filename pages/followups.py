"""Follow-ups due: whose brief follow-up is due, and logging one in under a minute."""

import pandas as pd
import streamlit as st

from dashboard import exports, i18n
from dashboard.gp_followups import ACTIONS
from dashboard.i18n import gettext as _
from dashboard.patient import programme_modules
from dashboard.text import md
from dashboard.timeutil import freshness_line
from dashboard.ui import cached
from dashboard.ui.components.agenda_panel import agenda_entry
from dashboard.ui.components.compact_list import CompactItem, compact_list, wide_table
from dashboard.ui.components.followup_form import followup_form
from dashboard.ui.components.quality_note import team_quality_note
from dashboard.ui.components.selectable_table import selected_row
from dashboard.ui.context import get_context
from dashboard.ui.nav import open_patient
from dashboard.ui.session import bump_data_version, data_version, table_key
from dashboard.ui.views import KEYBOARD_HINT, RISK_NOTE, STATUS_LABELS

ctx = get_context()
settings, tz = ctx.config.settings, ctx.config.timezone
version = (cached.writes(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer), data_version())
st.title(_("Follow-ups due"))
result, as_of = cached.due_list(ctx.platform, ctx.state, ctx.config.db_url, ctx.viewer, settings, tz.key, version)
overdue_days = int(settings.followup_overdue_days)
st.caption(
    freshness_line(as_of, tz)
    + " · "
    + i18n.ngettext("overdue after {n} day", "overdue after {n} days", overdue_days).format(n=overdue_days)
)
team_quality_note(ctx.viewer.role, cached.data_quality(ctx.platform, ctx.config.db_url, ctx.viewer, settings))
if msg := st.session_state.pop("followup_saved", None):
    st.success(msg, icon=":material/check_circle:")


def drop_selection() -> None:
    """The dialog was dismissed: a fresh table drops the row selection that would open it again."""
    bump_data_version()


# The form opens in a dialog over the list, where the GP looks, with the keyboard
# focus inside it (a form below a 25-row list was out of sight).
@st.dialog(_("Log a follow-up"), width="large", on_dismiss=drop_selection)
def followup_dialog(row: pd.Series) -> None:
    if st.button(_("Open patient page"), icon=":material/person:"):
        open_patient(row["code"], row["patient_id"])
    pid = int(row["patient_id"])
    agenda_entry(ctx, pid, version, expanded=True)
    if followup_form(
        ctx,
        pid,
        row["code"],
        programme_modules(ctx.platform, ctx.viewer, pid),
        int(row["latest_module"]),
        row["enrolled_on"],
    ):
        st.session_state["followup_saved"] = _("Follow-up for {code} saved.").format(code=md(row["code"]))
        st.rerun()


due = result.due
if due.empty:
    st.info(_("No follow-up is due: none of your patients has completed a module since you last saw them."))
else:
    overdue = int(due["overdue"].sum())
    st.markdown(
        i18n.ngettext("**{n} patient** due", "**{n} patients** due", len(due)).format(n=i18n.format_number(len(due)))
        + (" · **" + _("{n} overdue").format(n=overdue) + "**" if overdue else "")
    )
    if (due["risk"] | due["concern"]).any():
        st.warning(
            _("Patients with a risk answer or a supporter's concern are listed first.") + " " + _(RISK_NOTE),
            icon=":material/emergency_home:",
        )
    # Safety first: the code and the alerts stay pinned on the left at any width.
    alerts = [
        " · ".join(
            x
            for x, on in ((_("risk answer"), r), (_("supporter's concern"), c), (_("reliable deterioration"), d))
            if on
        )
        for r, c, d in zip(due["risk"], due["concern"], due["deterioration"])
    ]
    waiting = [
        _("{n} d").format(n=d) + (" · " + _("overdue") if o else "")
        for d, o in zip(due["waiting_days"], due["overdue"])
    ]
    table = pd.DataFrame(
        {
            "code": due["code"],
            "alerts": alerts,
            "status": [_(STATUS_LABELS[s]) if s in STATUS_LABELS else str(s).capitalize() for s in due["status"]],
            "waiting": waiting,
            "latest": due["latest"],
            "change": due["change"],
            "finished": due["modules_finished"],
        }
    )
    with wide_table("due"):
        chosen = selected_row(
            table,
            f"due_table_{table_key(version)}",  # a new table after each save: no stale selection
            {
                "code": st.column_config.TextColumn(_("Patient"), width=80, pinned=True),
                "alerts": st.column_config.TextColumn(
                    _("Alerts"),
                    width=230,
                    pinned=True,
                    help=_(
                        "Risk answer: PHQ-9 item 9 answered above 0. Reliable deterioration: a reliable worsening "
                        "since baseline on a measure (PHQ-9: up 6 or more). The patient page has the details."
                    ),
                ),
                "status": st.column_config.TextColumn(_("Status"), width=90),
                "waiting": st.column_config.TextColumn(
                    _("Waiting"), width=110, help=_("Since the first module completed after your last follow-up")
                ),
                "latest": st.column_config.TextColumn(_("Latest score")),
                "change": st.column_config.TextColumn(_("Change")),
                "finished": st.column_config.TextColumn(
                    _("Modules finished"), width="medium", help=_("Modules finished since your last follow-up")
                ),
            },
        )
        st.caption(_("Select a row to log a follow-up for that patient.") + " " + _(KEYBOARD_HINT))
    compact_list(
        "due",
        [
            CompactItem(
                code,
                pid,
                _("due {n} d ago").format(n=d) + (" · " + _("overdue") if o else ""),
                a or _("no alerts"),
                urgent=bool(r),
            )
            for code, pid, d, o, a, r in zip(
                due["code"], due["patient_id"], due["waiting_days"], due["overdue"], alerts, due["risk"]
            )
        ],
    )
    if chosen is not None:
        followup_dialog(due.iloc[chosen])

st.subheader(_("Planned follow-ups"))
if result.planned.empty:
    st.caption(_("No next follow-up dates logged."))
else:
    st.dataframe(
        result.planned,
        hide_index=True,
        width="stretch",
        column_config={
            "code": st.column_config.TextColumn(_("Patient")),
            "next_on": st.column_config.DateColumn(_("Planned for")),
            "held_on": st.column_config.DateColumn(_("Logged at visit on")),
        },
    )

held = result.followups
st.subheader(_("Your follow-ups"))
if held.empty:
    st.caption(_("You have not logged any follow-ups yet."))
else:
    export = held.assign(action=held["action"].map(lambda a: _(ACTIONS[a]) if a in ACTIONS else a))[
        [
            "entry_id",
            "code",
            "held_on",
            "minutes",
            "modality",
            "module_position",
            "clinic_phq9",
            "action",
            "pause_until",
            "next_on",
            "note",
            "recorded_at",
        ]
    ]
    st.download_button(
        _("Download my follow-ups (CSV)"),
        exports.audited_csv(ctx.state, ctx.viewer.username, "followups_csv", lambda: exports.headed(export)),
        file_name="followups.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
