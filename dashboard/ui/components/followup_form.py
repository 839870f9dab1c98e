"""The "log a follow-up" form: everything defaulted so a GP logs a brief
follow-up in under a minute. It owns its state: an idempotency key per form
instance (a double click or a resubmit stores one row) and the refusal
messages, shown next to their fields while what was typed is kept."""

from __future__ import annotations

import uuid
from datetime import date

import streamlit as st

from dashboard import i18n
from dashboard.gp_followups import (
    ACTIONS,
    ENROLMENT_UNCHECKED,
    MODALITIES,
    MODALITY_LABELS,
    NOTE_MAX_CHARS,
    FollowupForm,
    FollowupRefused,
    enrolment_bound,
    latest_pause_end,
    log_followup,
)
from dashboard.i18n import gettext as _
from dashboard.text import md
from dashboard.timeutil import local_time, utcnow
from dashboard.ui.context import AppContext
from dashboard.ui.session import bump_data_version


def note_key(patient_id: int) -> str:
    return f"fu_note_{patient_id}"


def prefill_note(patient_id: int, text: str) -> None:
    """Put ``text`` (what the consultation agenda says was agreed) in the form's note.
    Call it from a widget callback: a widget's value may be set only before the widget
    is drawn. (What is typed in a form reaches the server only on submit, so a note
    typed there but not saved cannot be told apart: the latest agreement wins.)"""
    st.session_state[note_key(patient_id)] = text[:NOTE_MAX_CHARS]


def _field_error(errors: dict[str, str], field: str) -> None:
    if field in errors:
        st.error(errors[field], icon=":material/error:")


def followup_form(
    ctx: AppContext,
    patient_id: int,
    code: str,
    modules: list[tuple[int, str]],
    latest_completed: int | None,
    enrolled_on: date | None,
) -> bool:
    """Draw the form for one patient; True once a follow-up was stored. ``enrolled_on``:
    the local enrolment date (None when the platform has none)."""
    key_slot, error_slot = f"followup_key_{patient_id}", f"followup_errors_{patient_id}"
    if key_slot not in st.session_state:
        st.session_state[key_slot] = uuid.uuid4().hex
    errors: dict[str, str] = st.session_state.get(error_slot, {})
    today = local_time(utcnow(), ctx.config.timezone).date()
    positions = [None, *(position for position, _title in modules)]
    titles = dict(modules)
    with st.form(f"followup_form_{patient_id}", clear_on_submit=False):
        st.markdown("**" + _("Log a follow-up for {code}").format(code=md(code)) + "**")
        if enrolment_bound(enrolled_on, today) is None:
            st.caption(_(ENROLMENT_UNCHECKED))
        c1, c2, c3 = st.columns(3)
        held_on = c1.date_input(
            _("Date"), value=today, max_value=today, format="DD/MM/YYYY", key=f"fu_date_{patient_id}"
        )
        minutes = c2.number_input(
            _("Minutes"), min_value=0, max_value=999, value=10, step=1, key=f"fu_min_{patient_id}"
        )
        modality = c3.selectbox(
            _("How"), MODALITIES, format_func=lambda m: _(MODALITY_LABELS[m]), key=f"fu_mod_{patient_id}"
        )
        with c1:
            _field_error(errors, "held_on")
        with c2:
            _field_error(errors, "minutes")
        c4, c5 = st.columns([2, 1])
        module = c4.selectbox(
            _("Module discussed"),
            positions,
            index=positions.index(latest_completed) if latest_completed in positions else 0,
            format_func=lambda p: _("none") if p is None else f"{p}. {titles[p]}",
            key=f"fu_module_{patient_id}",
        )
        phq9 = c5.number_input(
            _("PHQ-9 taken in clinic (optional)"),
            min_value=0,
            max_value=99,
            value=None,
            step=1,
            key=f"fu_phq_{patient_id}",
            help=_("Shown on the chart as a clinic mark; never used for outcomes or flags"),
        )
        with c5:
            _field_error(errors, "clinic_phq9")
        c6, c7, c8 = st.columns(3)
        action = c6.selectbox(
            _("Action"),
            list(ACTIONS),
            format_func=lambda a: _(ACTIONS[a]),
            key=f"fu_action_{patient_id}",
            help=_("Anything but '{continue_}' tells the patient's therapist").format(continue_=_(ACTIONS["continue"])),
        )
        max_weeks = float(ctx.config.settings.max_pause_weeks)
        pause_until = c7.date_input(
            _("Pause until (for a pause)"),
            value=None,
            format="DD/MM/YYYY",
            key=f"fu_pause_{patient_id}",
            min_value=today,
            max_value=latest_pause_end(today, max_weeks),
            help=i18n.ngettext(
                "At most {weeks} week; inactivity and no-contact reasons are held until then",
                "At most {weeks} weeks; inactivity and no-contact reasons are held until then",
                round(max_weeks),
            ).format(weeks=i18n.format_number(max_weeks)),
        )
        next_on = c8.date_input(
            _("Next follow-up (optional)"), value=None, format="DD/MM/YYYY", key=f"fu_next_{patient_id}"
        )
        with c6:
            _field_error(errors, "action")
        with c7:
            _field_error(errors, "pause_until")
        with c8:
            _field_error(errors, "next_on")
        note = st.text_area(_("Note (optional)"), max_chars=NOTE_MAX_CHARS, height=80, key=note_key(patient_id))
        _field_error(errors, "note")
        _field_error(errors, "patient")
        submitted = st.form_submit_button(_("Save follow-up"), type="primary")
    if not submitted:
        return False
    form = FollowupForm(
        held_on=held_on,
        minutes=int(minutes),
        modality=modality,
        module_position=module,
        clinic_phq9=None if phq9 is None else int(phq9),
        action=action,
        pause_until=pause_until,
        next_on=next_on,
        note=note or "",
    )
    try:
        log_followup(
            ctx.platform,
            ctx.state,
            ctx.viewer,
            patient_id,
            form,
            st.session_state[key_slot],
            utcnow(),
            ctx.config.timezone,
            float(ctx.config.settings.max_pause_weeks),
        )
    except FollowupRefused as refused:
        st.session_state[error_slot] = refused.errors
        st.rerun()
    st.session_state.pop(error_slot, None)
    st.session_state[key_slot] = uuid.uuid4().hex  # the next form is a new instance
    bump_data_version()
    return True
