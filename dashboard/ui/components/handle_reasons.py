"""Marking several of one patient's open reasons handled in one action: the Triage
dialog and the Patient page draw the same form (dashboard.acks.acknowledge_batch).

Non-risk reasons start ticked: a clinician opens the form after messaging or calling
the patient, which usually answers every routine reason at once, and four clicks for
four reasons were the complaint (issue 16, item 11). Risk reasons (an item-9 answer,
an unanswered item 9, a supporter's concern) start unticked, and a risk answer or a
concern (flags.RISK_KINDS) needs its own note: it is never
handled by a click that was meant for something else. The form covers exactly the rows
it drew: pressing the button reruns the page, which may read newer rows before the
form is reached, so the evidence of each reason is kept from the run that drew it
(``drawn_slot``) and that, not the rerun's, is what the acknowledgement covers. A row
or a whole reason that arrived since refuses the whole submission and the form shows it.
"""

from __future__ import annotations

import uuid

import pandas as pd
import streamlit as st

from dashboard.acks import NOTE_MAX_CHARS, AckRefused, Choice, NewerEvidence, acknowledge_batch, evidence_keys
from dashboard.flags import RISK_KINDS as NOTE_KINDS
from dashboard.flags import title as flag_title
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.text import md
from dashboard.timeutil import utcnow
from dashboard.ui.context import AppContext
from dashboard.ui.session import bump_data_version

RISK_KINDS = NOTE_KINDS | {"risk_unknown", "risk_unassessed"}  # never preselected
NOTE_LABELS = {
    "risk": N_("Note for the risk answer (required when ticked: what was done)"),
    "peer_concern": N_("Note for the supporter's concern (required when ticked: what was done)"),
}
CONFIRMATION = "handled_confirmation"  # shown at the top of the next run of the page
SUBMIT = N_("Mark selected handled")  # translated where drawn


def show_confirmation() -> None:
    """The last submission's outcome, near the page's title where the clinician looks."""
    if message := st.session_state.pop(CONFIRMATION, None):
        st.success(message, icon=":material/check_circle:")


def handle_reasons(ctx: AppContext, patient_id: int, code: str, open_rows: pd.DataFrame, where: str) -> bool:
    """Draw the form for ``open_rows`` (one patient's open flag rows as the screen shows
    them); True once acknowledgements were stored, the confirmation left for
    ``show_confirmation``. ``where`` keeps the two pages' widget keys apart."""
    form_id = f"{where}_{patient_id}"
    key_slot, refused_slot = f"handle_key_{form_id}", f"handle_refused_{form_id}"
    drawn_slot = f"handle_drawn_{form_id}"
    idempotency_key = st.session_state.setdefault(key_slot, uuid.uuid4().hex)
    by_kind = {k: g for k, g in open_rows.sort_values(["priority", "since"]).groupby("flag", sort=False)}
    drawn: dict[str, frozenset[str]] = st.session_state.get(drawn_slot, {})  # what the screen showed
    st.session_state[drawn_slot] = {k: frozenset(evidence_keys(g)) for k, g in by_kind.items()}
    tick_keys = {k: f"handle_{form_id}_{k}" for k in by_kind}
    note_keys = {k: f"handle_{form_id}_{k}_note" for k in by_kind if k in NOTE_KINDS}
    shared_key = f"handle_{form_id}_note"
    with st.form(f"handle_{form_id}", border=True):
        if refused := st.session_state.pop(refused_slot, None):
            st.error(md(refused), icon=":material/update:")
        ticked, own_notes = {}, {}
        for kind, rows in by_kind.items():
            ticked[kind] = st.checkbox(
                f"**{flag_title(kind)}**: " + "; ".join(md(r) for r in rows["reason"]),
                value=kind not in RISK_KINDS,
                key=tick_keys[kind],
            )
            if kind in NOTE_KINDS:  # its own note, right under it
                own_notes[kind] = st.text_area(
                    _(NOTE_LABELS[kind]), key=note_keys[kind], max_chars=NOTE_MAX_CHARS, height=80
                )
        shared_note = None
        if set(by_kind) - NOTE_KINDS:
            shared_note = st.text_area(
                _("Note for the team (optional, for the other ticked reasons)"),
                key=shared_key,
                max_chars=NOTE_MAX_CHARS,
                height=80,
            )
        submitted = st.form_submit_button(_(SUBMIT), type="primary")
    if not submitted:
        return False
    if unseen := [k for k in by_kind if ticked[k] and k not in drawn]:
        # a reason that appeared with this rerun: its box was never on the clinician's screen
        st.session_state[refused_slot] = _(
            "New since your screen: {reasons}. Nothing was stored: review it first."
        ).format(reasons=", ".join(flag_title(k) for k in unseen))
        st.rerun()
    choices = [Choice(kind, drawn[kind], own_notes.get(kind, shared_note)) for kind in by_kind if ticked[kind]]
    try:
        stored = acknowledge_batch(
            ctx.platform,
            ctx.state,
            ctx.viewer,
            patient_id,
            choices,
            utcnow(),
            ctx.config.settings,
            idempotency_key,
            ctx.config.timezone,
        )
    except NewerEvidence as exc:
        # Read the reasons again (not from the cache) so the form shows the newer row.
        st.session_state[refused_slot] = str(exc)
        bump_data_version()
        st.rerun()
    except AckRefused as exc:
        st.error(md(exc), icon=":material/error:")
        return False
    still_open = [flag_title(k) for k in by_kind if k not in stored]
    st.session_state[CONFIRMATION] = (
        _("Handled for {code} by you: {reasons}.").format(
            code=md(code), reasons=", ".join(flag_title(k) for k in stored)
        )
        + " "
        + (
            _("Still open: {reasons}.").format(reasons=", ".join(still_open))
            if still_open
            else _("Nothing else is open for this patient.")
        )
    )
    for key in (
        key_slot,
        drawn_slot,
        shared_key,
        *note_keys.values(),
        *tick_keys.values(),
    ):  # the next form starts fresh
        st.session_state.pop(key, None)
    bump_data_version()
    return True
