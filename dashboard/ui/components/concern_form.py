"""The peer supporter's "Record a concern" form (dashboard.concerns): what the patient
told them that worries them, raised in the therapist's triage ranked with a risk answer.

It owns its state: an idempotency key per form instance. A stored concern starts a new
instance, but the same words sent again (the second click of a double click reaches the
server after the first was stored, with the same text) carry the stored one's key, so
they store nothing more (the domain returns the first row). A refusal is shown under
the form while what was typed is kept; the confirmation under it after the rerun that
shows the concern's status."""

from __future__ import annotations

import uuid

import streamlit as st

from dashboard.concerns import NOTE_MAX_CHARS, ConcernRefused, record_concern
from dashboard.i18n import N_, ngettext
from dashboard.i18n import gettext as _
from dashboard.text import md
from dashboard.timeutil import utcnow
from dashboard.ui.context import AppContext
from dashboard.ui.session import bump_data_version

SUBMIT = N_("Record the concern")
NOTE_LABEL = N_("What did the patient tell you?")


def key_slot(patient_id: int) -> str:
    return f"concern_key_{patient_id}"


def concern_form(ctx: AppContext, patient_id: int, code: str, therapist: str | None) -> None:
    """Draw the form for one patient in the supporter's care."""
    slot, stored_slot = key_slot(patient_id), f"concern_stored_{patient_id}"
    note_key, done_slot = f"concern_note_{patient_id}", f"concern_done_{patient_id}"
    minimum = int(ctx.config.settings.risk_note_min_chars)
    if st.session_state.pop(f"concern_clear_{patient_id}", False):
        st.session_state[note_key] = ""  # before the widget is drawn: the browser's copy is emptied too
    with st.form(f"concern_{patient_id}", border=True):
        note = st.text_area(
            _(NOTE_LABEL),
            key=note_key,
            max_chars=NOTE_MAX_CHARS,
            height=100,
            placeholder=ngettext(
                "In your own words, at least {n} character", "In your own words, at least {n} characters", minimum
            ).format(n=minimum),
            help=_(
                "It goes to the therapist's triage at once, ranked with a risk answer. "
                "Caseboard is not monitored out of hours: if the patient is in danger now, follow the service's "
                "risk protocol."
            ),
        )
        submitted = st.form_submit_button(_(SUBMIT), type="primary", icon=":material/report:")
    key = st.session_state.setdefault(slot, uuid.uuid4().hex)
    if not submitted:
        if done := st.session_state.get(done_slot):
            st.success(done, icon=":material/check_circle:")
        return
    st.session_state.pop(done_slot, None)
    last = st.session_state.get(stored_slot)  # (key, words) of the concern this form stored last
    if last is not None and last[1] == (note or "").strip():
        key = last[0]  # the same form sent again: the domain stores it once
    try:
        record_concern(ctx.platform, ctx.state, ctx.viewer, patient_id, note, key, utcnow(), ctx.config.settings)
    except ConcernRefused as exc:
        st.error(md(exc), icon=":material/error:")
        return
    if therapist:
        done = _("Concern recorded for {code}: it is in {therapist}'s triage now.")
    else:
        done = _(
            "Concern recorded for {code}. No therapist is assigned: it is in the team lead's triage now; tell them too."
        )
    st.session_state[stored_slot] = (key, (note or "").strip())
    st.session_state[slot] = uuid.uuid4().hex  # the next concern is a new form instance
    st.session_state[done_slot] = done.format(code=md(code), therapist=md(therapist or ""))
    st.session_state[f"concern_clear_{patient_id}"] = True
    bump_data_version()
    st.rerun()
