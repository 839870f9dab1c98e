"""Withdrawing a mistaken acknowledgement: a small form under the "Handled" line
of the patient page, for its author or a team lead. The reason is required and
kept in the audit trail; the triage reason opens again with its original "since"."""

from __future__ import annotations

import streamlit as st

from dashboard.acks import AckRefused, withdraw
from dashboard.i18n import gettext as _
from dashboard.timeutil import utcnow
from dashboard.ui.context import AppContext
from dashboard.ui.session import bump_data_version


def withdraw_panel(ctx: AppContext, ack_id: int, what: str) -> None:
    with st.expander(_("Withdraw this {what} acknowledgement").format(what=what), icon=":material/undo:"):
        with st.form(f"withdraw_ack_{ack_id}", border=False):
            reason = st.text_input(
                _("Why is it withdrawn? (kept in the audit trail)"), key=f"withdraw_reason_{ack_id}", max_chars=1000
            )
            submitted = st.form_submit_button(_("Withdraw acknowledgement"))
        if not submitted:
            return
        try:
            withdraw(ctx.platform, ctx.state, ctx.viewer, ack_id, reason, utcnow())
        except AckRefused as exc:
            st.error(str(exc))
            return
        bump_data_version()
        st.toast(_("Acknowledgement withdrawn: the {what} reason is open again.").format(what=what))
        st.rerun()
