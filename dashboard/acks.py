"""Acknowledgements: a therapist (or a team lead covering) marks a triage reason
as handled. Stored in the state database, audited, and applied to flags in
Python on viewer-scoped patient ids (never a cross-database join).

An acknowledgement says what the screen showed: the evidence keys of the
reason as drawn (dashboard.ack_cover). On submit the reason is read again from
the platform, not from a cache; if it now holds a row the screen did not show
(a new answer while the form was open), nothing is stored and the clinician is
asked to review it first. A mistaken acknowledgement is withdrawn by a new row
(its author or a team lead, with a reason), which opens the reason again.

A peer supporter marks the reasons of their own list only (``PEER_REASONS``); their
acknowledgement carries their role and never covers the therapist's reason.

Several reasons of one patient are handled in one action (acknowledge_batch):
all of them or none, refused whole when any holds a row its screen did not show."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from dashboard import audit, flags
from dashboard.ack_cover import evidence_json
from dashboard.clinician_records import load_acks  # noqa: F401 (callers read it here too)
from dashboard.config import Settings
from dashboard.i18n import N_, format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.patient import find_patient_by_id
from dashboard.peer_support import PEER_REASONS
from dashboard.schema import PEER_SUPPORTER
from dashboard.scope import Viewer
from dashboard.state_tables import ack_withdrawals
from dashboard.state_tables import acknowledgements as acks_table
from dashboard.text import control_problem
from dashboard.timeutil import UTC_ZONE

MAY_ACKNOWLEDGE = frozenset({"therapist", "team_lead", PEER_SUPPORTER})
NOTE_MAX_CHARS = 1000
NEWER_ROW = N_("A newer answer arrived: review it first.")  # translated where raised


class AckRefused(ValueError):
    """The acknowledgement was not stored; the message says why."""


class NewerEvidence(AckRefused):
    """The reason holds a row the screen did not show: nothing was stored, and the
    page shows the reason as it is now."""


@dataclass(frozen=True)
class Choice:
    """One reason the clinician ticked: the evidence keys its screen showed, and its note
    (a risk reason's own; the shared note for the others)."""

    flag: str
    seen: frozenset[str]
    note: str | None = None


def acknowledge_batch(
    platform: Engine,
    state: Engine,
    viewer: Viewer,
    patient_id: int,
    choices: Sequence[Choice],
    now: datetime,
    settings: Settings,
    idempotency_key: str | None = None,
    tz: ZoneInfo = UTC_ZONE,
) -> dict[str, int]:
    """Mark several of one patient's reasons handled in one action: every reason is
    checked first against a fresh read, then all acknowledgements and their audit rows
    are stored in one transaction, or none is. A reason holding a row its screen did
    not show refuses the whole batch, naming it (NewerEvidence); a risk reason needs
    its own note. Returns {flag: acknowledgement id}; the same ``idempotency_key``
    again (a double click) stores nothing more and returns the first ids."""
    if not choices:
        raise AckRefused(_("Tick at least one reason to mark it handled."))
    for c in choices:
        if problem := control_problem(c.note, "The note", multiline=True):  # before any query (dashboard.text)
            raise AckRefused(problem)
    if viewer.role not in MAY_ACKNOWLEDGE:
        raise AckRefused(
            _("Only therapists and team leads acknowledge triage reasons, and peer supporters their own list.")
        )
    if viewer.role == PEER_SUPPORTER and (theirs := {c.flag for c in choices} - PEER_REASONS):
        raise AckRefused(
            _("A peer supporter marks only the reasons of their own list, not {reasons}.").format(
                reasons=_titles(sorted(theirs))
            )
        )
    if len({c.flag for c in choices}) != len(choices):
        raise AckRefused(_("Each reason can be ticked once."))
    for c in choices:
        if c.flag not in flags.FLAG_KINDS:
            raise AckRefused(_("Unknown reason {flag}.").format(flag=repr(c.flag)))
    patient = find_patient_by_id(platform, viewer, patient_id, now)
    if patient is None:
        raise AckRefused(_("No such patient in your caseload."))
    notes = {c.flag: (c.note or "").strip() for c in choices}
    for kind in sorted(flags.RISK_KINDS & set(notes)):
        if len(notes[kind]) < settings.risk_note_min_chars:
            n = int(settings.risk_note_min_chars)
            if kind == "risk":
                message = ngettext(
                    "A risk acknowledgement needs a note of at least {n} character saying what was done; "
                    "the team can read it.",
                    "A risk acknowledgement needs a note of at least {n} characters saying what was done; "
                    "the team can read it.",
                    n,
                ).format(n=format_number(n))
            else:
                message = ngettext(
                    "Handling a {reason} needs a note of at least {n} character saying what was done; "
                    "the team can read it.",
                    "Handling a {reason} needs a note of at least {n} characters saying what was done; "
                    "the team can read it.",
                    n,
                ).format(reason=flags.title(kind).lower(), n=format_number(n))
            raise AckRefused(message)
    if any(len(n) > NOTE_MAX_CHARS for n in notes.values()):
        raise AckRefused(_("The note is longer than {n} characters.").format(n=format_number(NOTE_MAX_CHARS)))
    keys = {c.flag: _row_key(idempotency_key, c.flag, len(choices)) for c in choices}
    if idempotency_key is not None and (done := _acks_for_keys(state, keys)):
        if set(done) == set(keys):  # the same submission again: stored once
            return done
        raise AckRefused(  # the same form sent again with other ticks: never half a batch
            _("This form was already submitted with other reasons ticked; the page shows them as they are now.")
        )
    judged = _open_rows(platform, state, viewer, patient, now, settings, tz)
    gone, newer, current = [], [], {}
    for c in choices:
        rows = judged[judged["flag"] == c.flag]
        if rows.empty:
            gone.append(c.flag)
            continue
        current[c.flag] = rows
        if not {k for ev in rows["evidence"] for k, _at in ev} <= c.seen:
            newer.append(c.flag)
    if gone:
        raise AckRefused(
            _(
                "This reason is no longer open (handled by a colleague, or the data changed); "
                "nothing was stored, and the list shows it as it is now."
            )
            if len(choices) == 1
            else _(
                "No longer open: {reasons} (handled by a colleague, or the data changed); "
                "nothing was stored, and the list shows it as it is now."
            ).format(reasons=_titles(gone))
        )
    if newer:
        if len(choices) == 1:
            raise NewerEvidence(
                _(NEWER_ROW) if newer == ["risk"] else _("Something newer arrived for this reason: review it first.")
            )
        lead = _(NEWER_ROW) if "risk" in newer else _("Something newer arrived: review it first.")
        raise NewerEvidence(
            lead + " " + _("Newer than your screen: {reasons}. Nothing was stored.").format(reasons=_titles(newer))
        )
    stored: dict[str, int] = {}
    try:
        with state.begin() as conn:
            for c in choices:
                rows = current[c.flag]
                evidence = {k for ev in rows["evidence"] for k, _at in ev}
                ack_id = conn.execute(
                    insert(acks_table).values(
                        patient_id=patient_id,
                        flag=c.flag,
                        trigger_at=max(rows["trigger_at"]),
                        acked_at=now,
                        actor=viewer.username,
                        note=notes[c.flag] or None,
                        evidence=evidence_json(c.seen & evidence),
                        idempotency_key=keys[c.flag],
                        role=viewer.role,  # a supporter's covers their own list only (clinician_records.of_list)
                    )
                ).inserted_primary_key[0]
                stored[c.flag] = int(ack_id)
                audit.record_in(conn, viewer.username, "acknowledge", patient_id, flag=c.flag, ack=int(ack_id))
    except IntegrityError:
        done = _acks_for_keys(state, keys) if idempotency_key else {}
        if not done:
            raise
        return done
    return stored


def _titles(kinds: Iterable[str]) -> str:
    return ", ".join(flags.title(k) for k in kinds)


def _row_key(key: str | None, flag: str, n: int) -> str | None:
    """One stored key per acknowledgement: a batch's key with the reason appended (a
    single acknowledgement keeps the key as given)."""
    if key is None:
        return None
    return key if n == 1 else f"{key}:{flag}"


def _open_rows(
    platform: Engine, state: Engine, viewer: Viewer, patient, now: datetime, settings: Settings, tz: ZoneInfo
):
    """The patient's open flag rows, read fresh from both databases (not from a cache),
    judged in the screen's zone (a GP's pause ends with a local day)."""
    judged = flags.evaluate(
        flags.load_inputs(platform, viewer, now, settings, patient.patient_id, state), now, settings, tz
    )
    return judged[judged["acked_at"].isna()]


def _acks_for_keys(state: Engine, keys: dict[str, str | None]) -> dict[str, int]:
    wanted = {k: f for f, k in keys.items() if k is not None}
    if not wanted:
        return {}
    with state.connect() as conn:
        found = conn.execute(
            select(acks_table.c.idempotency_key, acks_table.c.id).where(acks_table.c.idempotency_key.in_(wanted))
        ).all()
    return {wanted[k]: int(i) for k, i in found}


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
    if row is None or find_patient_by_id(platform, viewer, row.patient_id, now) is None:
        raise AckRefused(_("No such acknowledgement in your caseload."))
    if viewer.username != row.actor and viewer.role != "team_lead":
        raise AckRefused(_("Only its author or a team lead can withdraw an acknowledgement."))
    if already is not None:
        raise AckRefused(_("This acknowledgement was already withdrawn."))
    if not reason:
        raise AckRefused(_("Say why the acknowledgement is withdrawn (kept in the audit trail)."))
    if len(reason) > NOTE_MAX_CHARS:
        raise AckRefused(_("The reason is longer than {n} characters.").format(n=format_number(NOTE_MAX_CHARS)))
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
        raise AckRefused(_("This acknowledgement was already withdrawn.")) from None


def evidence_keys(rows: pd.DataFrame) -> list[str]:
    """The evidence keys of flag rows as drawn (what an acknowledgement of them covers)."""
    return sorted({k for keys in rows["evidence"] for k, _at in keys})
