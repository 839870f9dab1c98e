"""Correct or withdraw a GP's own follow-up: a new version with the reason kept."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard import i18n
from dashboard.gp_followups import (
    ACTIONS,
    FollowupForm,
    FollowupRefused,
    correct_followup,
    latest_pause_end,
    withdraw_followup,
)
from dashboard.i18n import gettext as _
from dashboard.timeutil import utcnow
from dashboard.ui.context import AppContext
from dashboard.ui.session import bump_data_version


def correction_panel(ctx: AppContext, own: pd.DataFrame) -> None:
    labels = {
        r.entry_id: _("{day} · {action} · {minutes} min").format(
            day=i18n.format_day(r.held_on), action=ACTIONS[r.action], minutes=r.minutes
        )
        for r in own.itertuples()
    }
    entry_id = st.selectbox(_("Entry"), list(labels), format_func=labels.get, key="correction_entry")
    current = own[own["entry_id"] == entry_id].iloc[0]
    key_slot = f"correction_key_{entry_id}"
    st.session_state.setdefault(key_slot, uuid.uuid4().hex)
    with st.form(f"correction_{entry_id}"):
        minutes = st.number_input(_("Minutes"), min_value=0, max_value=999, value=int(current["minutes"]))
        action = st.selectbox(
            _("Action"), list(ACTIONS), index=list(ACTIONS).index(current["action"]), format_func=ACTIONS.get
        )
        stored_end = None if pd.isna(current["pause_until"]) else current["pause_until"]
        longest = latest_pause_end(current["held_on"], float(ctx.config.settings.max_pause_weeks))
        # an entry stored before the bound may end later: shown as it is, refused on save
        pause_until = st.date_input(
            _("Pause until (for a pause)"),
            format="DD/MM/YYYY",
            value=stored_end,
            max_value=max(longest, stored_end or longest),
        )
        note = st.text_area(_("Note"), value=current["note"] or "", max_chars=1000)
        reason = st.text_input(_("Why is it changing? (kept in the entry's history)"))
        c1, c2 = st.columns(2)
        save, withdraw = c1.form_submit_button(_("Save correction")), c2.form_submit_button(_("Withdraw entry"))
    if not (save or withdraw):
        return
    try:
        if withdraw:
            withdraw_followup(
                ctx.platform,
                ctx.state,
                ctx.viewer,
                entry_id,
                reason,
                st.session_state[key_slot],
                utcnow(),
                ctx.config.timezone,
            )
        else:
            form = FollowupForm(
                **{k: current[k] for k in FollowupForm.__dataclass_fields__} | {"note": current["note"] or ""}
            )
            form = replace(
                form,
                minutes=int(minutes),
                action=action,
                note=note,
                clinic_phq9=None if pd.isna(current["clinic_phq9"]) else int(current["clinic_phq9"]),
                module_position=None if pd.isna(current["module_position"]) else int(current["module_position"]),
                pause_until=pause_until if action == "pause" else None,
                next_on=None if pd.isna(current["next_on"]) else current["next_on"],
            )
            correct_followup(
                ctx.platform,
                ctx.state,
                ctx.viewer,
                entry_id,
                form,
                reason,
                st.session_state[key_slot],
                utcnow(),
                ctx.config.timezone,
                float(ctx.config.settings.max_pause_weeks),
            )
    except FollowupRefused as refused:
        for message in refused.errors.values():
            st.error(message)
        return
    st.session_state.pop(key_slot, None)
    bump_data_version()
    st.toast(_("Withdrawn.") if withdraw else _("Correction saved."))
    st.rerun()
