"""Audit: who looked at or changed what, for the team lead's team (dashboard.audit.team_trail)."""

from datetime import timedelta

import streamlit as st

from dashboard import audit, exports, i18n
from dashboard.i18n import gettext as _
from dashboard.text import control_problem
from dashboard.timeutil import local_time, utc_midnight, utcnow
from dashboard.ui.components.date_range import date_range
from dashboard.ui.context import get_context
from dashboard.ui.views import table_height

ctx = get_context()
tz = ctx.config.timezone
st.title(_("Audit trail"))
st.caption(
    _(
        "Everything done about your team's patients, by anyone (a refused link names the patient it asked for), "
        "and the logins, logouts, refusals, exports and command-line reports of your team's clinicians and of "
        "everyone treating your team's patients, GPs included. The log is append-only."
    )
)
today = local_time(utcnow(), tz).date()
c1, c2, c3 = st.columns([1, 1, 2])
who = c1.text_input(_("Clinician (login name)"), placeholder=_("all")).strip() or None
code = c2.text_input(_("Patient code"), placeholder=_("all")).strip() or None
start, end = date_range(c3, _("Dates"), (today - timedelta(days=7), today), today)
for value, what in ((who, "The clinician filter"), (code, "The patient code filter")):
    if refused := control_problem(value, what):  # before the query (dashboard.text)
        st.error(refused)
        st.stop()


trail = audit.team_trail(
    ctx.state, ctx.platform, ctx.viewer, utc_midnight(start, tz), utc_midnight(end + timedelta(days=1), tz), who, code
)
st.caption(i18n.ngettext("{n} entry", "{n} entries", len(trail)).format(n=len(trail)))
if trail.empty:
    st.info(_("No audit entries match these filters."))
    st.stop()
who_is = audit.actor_labels(ctx.platform, sorted(set(trail["actor"])))
shown = trail.assign(
    occurred_at=[i18n.format_day_time(t.to_pydatetime(), tz, seconds=True) for t in trail["occurred_at"]],
    actor=trail["actor"].map(who_is),
    action=trail["action"].map(audit.action_words),
    patient=trail["patient"].astype(object).fillna(""),
    detail=[audit.detail_words(d) for d in trail["detail"].astype(object).where(trail["detail"].notna(), None)],
)
st.dataframe(
    shown,
    hide_index=True,
    width="stretch",
    height=table_height(len(shown)),
    column_order=["occurred_at", "patient", "actor", "action", "detail"],
    column_config={
        "occurred_at": st.column_config.TextColumn(_("When"), width=150, pinned=True),
        "patient": st.column_config.TextColumn(_("Patient"), width=80),
        "actor": _("Who"),
        "action": _("What"),
        "detail": _("Detail"),
    },
)
st.download_button(
    _("Download as CSV"),
    exports.audited_csv(ctx.state, ctx.viewer.username, "audit_csv", lambda: exports.headed(trail)),
    file_name="audit.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
)
