"""Acknowledgements: a therapist (or a team lead covering) marks a triage reason
as handled. Stored in the state database, audited, and applied to flags in
Python on viewer-scoped patient ids (never a cross-database join).

An acknowledgement says what the screen showed: the evidence keys of the
reason as drawn (dashboard.ack_cover). On submit the reason is read again from
the platform, not from a cache; if it now holds a row the screen did not show
(a new answer while the form was open), nothing is stored and the clinician is
asked to review it first. A mistaken acknowledgement is withdrawn by a new row
(its author or a team lead, with a reason), which opens the reason again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import audit, flags
from dashboard.ack_cover import evidence_json
from dashboard.clinician_records import load_acks  # noqa: F401 (callers read it here too)
from dashboard.config import Settings
from dashboard.patient import find_patient_by_id
from dashboard.scope import Viewer
from dashboard.state_tables import ack_withdrawals
from dashboard.state_tables import acknowledgements as acks_table
from dashboard.text import control_problem

MAY_ACKNOWLEDGE = frozenset({"therapist", "team_lead"})
NOTE_MAX_CHARS = 1000
NEWER_ROW = "A newer answer arrived: review it first."


class AckRefused(ValueError):
    """The acknowledgement was not stored; the message says why."""


class NewerEvidence(AckRefused):
    """The reason holds a row the screen did not show: nothing was stored, and the
    page shows the reason as it is now."""


def acknowledge(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    flag: str,
    seen: Iterable[str],
    note: str | None,
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
) -> int:
    """Store one acknowledgement covering the evidence keys ``seen`` and its audit
    row together, or refuse and store nothing; returns the acknowledgement's id.
    The same ``idempotency_key`` again (a double click) stores nothing more."""
    if problem := control_problem(note, "The note", multiline=True):  # before any query (dashboard.text)
        raise AckRefused(problem)
    if viewer.role not in MAY_ACKNOWLEDGE:
        raise AckRefused("Only therapists and team leads acknowledge triage reasons.")
    if flag not in flags.FLAG_KINDS:
        raise AckRefused(f"Unknown reason {flag!r}.")
    patient = find_patient_by_id(platform, viewer, patient_id)
    if patient is None:
        raise AckRefused("No such patient in your caseload.")
    note = (note or "").strip()
    if flag == "risk" and len(note) < settings.risk_note_min_chars:
        raise AckRefused(
            f"A risk acknowledgement needs a note of at least {int(settings.risk_note_min_chars)} "
            "characters saying what was done; the team can read it."
        )
    if len(note) > NOTE_MAX_CHARS:
        raise AckRefused(f"The note is longer than {NOTE_MAX_CHARS:,} characters.")
    if idempotency_key is not None and (done := _ack_for_key(state, idempotency_key)) is not None:
        return done
    seen = frozenset(seen)
    current = _current_rows(platform, state, viewer, patient, flag, now, settings)
    if current.empty:
        raise AckRefused(
            "This reason is no longer open (handled by a colleague, or the data changed); "
            "the list shows it as it is now."
        )
    evidence = [k for keys in current["evidence"] for k, _ in keys]
    if not set(evidence) <= seen:
        raise NewerEvidence(
            NEWER_ROW if flag == "risk" else "Something newer arrived for this reason: review it first."
        )
    try:
        with state.begin() as conn:
            ack_id = conn.execute(
                insert(acks_table).values(
                    patient_id=patient_id,
                    flag=flag,
                    trigger_at=max(current["trigger_at"]),
                    acked_at=now,
                    actor=viewer.username,
                    note=note or None,
                    evidence=evidence_json(seen & set(evidence)),
                    idempotency_key=idempotency_key,
                )
            ).inserted_primary_key[0]
            audit.record_in(conn, viewer.username, "acknowledge", patient_id, flag=flag, ack=int(ack_id))
    except IntegrityError:
        done = _ack_for_key(state, idempotency_key) if idempotency_key else None
        if done is None:
            raise
        return done
    return int(ack_id)


def _current_rows(
    platform: Engine, state: Engine, viewer: Viewer, patient, flag: str, now: datetime, settings: Settings
) -> pd.DataFrame:
    """The patient's open rows of ``flag``, read fresh from both databases."""
    judged = flags.evaluate(
        flags.load_inputs(platform, viewer, now, settings, patient.patient_id, state), now, settings
    )
    return judged[(judged["flag"] == flag) & judged["acked_at"].isna()]


def _ack_for_key(state: Engine, key: str) -> int | None:
    with state.connect() as conn:
        return conn.scalar(select(acks_table.c.id).where(acks_table.c.idempotency_key == key))


def withdraw(platform: Engine, state: Engine, viewer: Viewer, ack_id: int, reason: str, now: datetime) -> None:
    """Withdraw a mistaken acknowledgement: its author or a team lead who may see the
    patient, with a reason; appended and audited, never deleted. The reason it
    covered opens again with its original "since"."""
    if problem := control_problem(reason, "The reason", multiline=True):  # before any query (dashboard.text)
        raise AckRefused(problem)
    reason = (reason or "").strip()
    with state.connect() as conn:
        row = conn.execute(select(acks_table).where(acks_table.c.id == ack_id)).first()
        already = conn.scalar(select(ack_withdrawals.c.id).where(ack_withdrawals.c.ack_id == ack_id))
    # the same words whether the acknowledgement is missing or out of scope
    if row is None or find_patient_by_id(platform, viewer, row.patient_id) is None:
        raise AckRefused("No such acknowledgement in your caseload.")
    if viewer.username != row.actor and viewer.role != "team_lead":
        raise AckRefused("Only its author or a team lead can withdraw an acknowledgement.")
    if already is not None:
        raise AckRefused("This acknowledgement was already withdrawn.")
    if not reason:
        raise AckRefused("Say why the acknowledgement is withdrawn (kept in the audit trail).")
    if len(reason) > NOTE_MAX_CHARS:
        raise AckRefused(f"The reason is longer than {NOTE_MAX_CHARS:,} characters.")
    try:
        with state.begin() as conn:
            conn.execute(
                insert(ack_withdrawals).values(
                    ack_id=ack_id, withdrawn_at=now, withdrawn_by=viewer.username, reason=reason
                )
            )
            audit.record_in(
                conn, viewer.username, "acknowledgement_withdrawn", row.patient_id, flag=row.flag, ack=int(ack_id)
            )
    except IntegrityError:  # withdrawn by someone else at the same moment: it is withdrawn once
        raise AckRefused("This acknowledgement was already withdrawn.") from None


def evidence_keys(rows: pd.DataFrame) -> list[str]:
    """The evidence keys of flag rows as drawn (what an acknowledgement of them covers)."""
    return sorted({k for keys in rows["evidence"] for k, _ in keys})
