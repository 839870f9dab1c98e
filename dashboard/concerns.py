"""A peer supporter's concern (issue 20): the patient told them something worrying.

The supporter writes what they heard; Caseboard stores it once and raises
``peer_concern`` in the therapist's triage, ranked with a risk answer (priority 1,
escalated to the team lead after ``risk_escalation_working_days``, marked handled
only with a note: dashboard.flags). The concern is never a task on the supporter's
own list; their patient page says where it stands with the therapist
(dashboard.peer_support.concern_statuses).

Only a peer supporter records a concern here, for a patient in their care (checked
in the data layer, like every scope). A therapist, GP or team lead acts on what
they hear themselves and records it in the clinical record; a concern of theirs in
Caseboard would only queue it for themselves."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import audit, i18n
from dashboard.config import Settings
from dashboard.i18n import gettext as _
from dashboard.patient import find_patient_by_id
from dashboard.schema import PEER_SUPPORTER
from dashboard.scope import Viewer
from dashboard.state_tables import concerns as table
from dashboard.text import control_problem

NOTE_MAX_CHARS = 1000
KEY_MAX_CHARS = 64


class ConcernRefused(ValueError):
    """The concern was not stored; the message says why."""


def record_concern(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    note: str | None,
    idempotency_key: str,
    now: datetime,
    settings: Settings,
) -> int:
    """Store a supporter's concern about a patient in their care, with its audit row in
    the same transaction; returns its id. Every refusal (ConcernRefused) comes before
    anything is written. The same ``idempotency_key`` again (a double click, a retry)
    stores nothing more and returns the first id."""
    if problem := control_problem(note, _("The note"), multiline=True):  # before any query (dashboard.text)
        raise ConcernRefused(problem)
    if viewer.role != PEER_SUPPORTER:
        raise ConcernRefused(
            _("Only a peer supporter records a concern here; a clinician acts on it and notes it in the record.")
        )
    if not idempotency_key or len(idempotency_key) > KEY_MAX_CHARS:
        raise ConcernRefused(_("This form has expired: open the patient again and resubmit."))
    text = (note or "").strip()
    minimum = int(settings.risk_note_min_chars)
    if len(text) < minimum:
        raise ConcernRefused(
            i18n.ngettext(
                "Say what the patient told you in at least {n} character; the therapist reads it first.",
                "Say what the patient told you in at least {n} characters; the therapist reads it first.",
                minimum,
            ).format(n=minimum)
        )
    if len(text) > NOTE_MAX_CHARS:
        raise ConcernRefused(_("The note is longer than {n} characters.").format(n=i18n.format_number(NOTE_MAX_CHARS)))
    if find_patient_by_id(platform, viewer, patient_id, now) is None:
        raise ConcernRefused(_("No such patient in your care."))
    if (done := _for_key(state, idempotency_key, patient_id)) is not None:
        return done
    try:
        with state.begin() as conn:
            concern_id = int(
                conn.execute(
                    insert(table).values(
                        patient_id=patient_id,
                        recorded_by=viewer.clinician_id,
                        actor=viewer.username,
                        author_name=viewer.display_name,
                        role=viewer.role,
                        recorded_at=now,
                        note=text,
                        idempotency_key=idempotency_key,
                    )
                ).inserted_primary_key[0]
            )
            audit.record_in(conn, viewer.username, "concern", patient_id, concern=concern_id)
    except IntegrityError:  # the same key stored by a concurrent submit: stored once
        if (done := _for_key(state, idempotency_key, patient_id)) is None:
            raise
        return done
    return concern_id


def _for_key(state: Engine, key: str, patient_id: int) -> int | None:
    """The concern already stored under ``key``; refused when it was another patient's
    (a key is one form instance, of one patient)."""
    with state.connect() as conn:
        row = conn.execute(select(table.c.id, table.c.patient_id).where(table.c.idempotency_key == key)).first()
    if row is None:
        return None
    if int(row.patient_id) != patient_id:
        raise ConcernRefused(_("This form was already used for another patient: open the patient again."))
    return int(row.id)
