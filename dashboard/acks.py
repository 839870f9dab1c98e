"""Acknowledgements: a therapist (or a team lead covering) marks a triage reason
as handled. Stored in the state database, audited, and applied to flags in
Python on viewer-scoped patient ids (never a cross-database join)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from sqlalchemy import Engine, insert, select

from dashboard import audit
from dashboard.config import Settings
from dashboard.flags import FLAG_KINDS
from dashboard.frames import read_frame
from dashboard.patient_record import find_patient_by_id
from dashboard.scope import Viewer
from dashboard.state import acknowledgements as acks_table
from dashboard.text import control_problem

EXPIRING_FLAGS = frozenset({"inactive", "no_contact", "questionnaire_overdue"})
MAY_ACKNOWLEDGE = frozenset({"therapist", "team_lead"})


class AckRefused(ValueError):
    """The acknowledgement was not stored; the message says why."""


def acknowledge(platform: Engine, state: Engine, viewer: Viewer, patient_id: int, flag: str,
                trigger_at: datetime, note: str | None, now: datetime, settings: Settings) -> None:
    """Store one acknowledgement and its audit row together, or refuse and store nothing."""
    if problem := control_problem(note, "The note", multiline=True):  # before any query (dashboard.text)
        raise AckRefused(problem)
    if viewer.role not in MAY_ACKNOWLEDGE:
        raise AckRefused("Only therapists and team leads acknowledge triage reasons.")
    if flag not in FLAG_KINDS:
        raise AckRefused(f"Unknown reason {flag!r}.")
    if find_patient_by_id(platform, viewer, patient_id) is None:
        raise AckRefused("No such patient in your caseload.")
    note = (note or "").strip()
    if flag == "risk" and len(note) < settings.risk_note_min_chars:
        raise AckRefused(f"A risk acknowledgement needs a note of at least {int(settings.risk_note_min_chars)} "
                         "characters saying what was done; the team can read it.")
    if len(note) > 1000:
        raise AckRefused("The note is longer than 1,000 characters.")
    with state.begin() as conn:
        conn.execute(insert(acks_table).values(patient_id=patient_id, flag=flag, trigger_at=trigger_at, acked_at=now,
                                               actor=viewer.username, note=note or None))
        audit.record_in(conn, viewer.username, "acknowledge", patient_id, flag=flag)


def load_acks(state: Engine, patient_ids: list[int]) -> pd.DataFrame:
    columns = ["patient_id", "flag", "trigger_at", "acked_at", "actor", "note"]
    if not patient_ids:
        return pd.DataFrame(columns=columns)
    with state.connect() as conn:
        return read_frame(conn, select(*(acks_table.c[c] for c in columns)).where(acks_table.c.patient_id.in_(patient_ids)),
                          dates=("trigger_at", "acked_at"))


def apply_acks(flags: pd.DataFrame, acks: pd.DataFrame, now: datetime, settings: Settings) -> pd.DataFrame:
    """``flags`` with ``acked_by``, ``acked_at`` and ``ack_note`` of the latest
    acknowledgement that still covers each flag (None: the flag is open).

    An acknowledgement covers a flag when it was made at or after the flag's
    trigger (no newer qualifying event since) and, for the expiring reasons,
    less than ``ack_expiry_days`` ago."""
    out = flags.assign(acked_by=None, acked_at=pd.NaT, ack_note=None)
    if flags.empty or acks.empty:
        return out
    latest = acks.sort_values("acked_at").groupby(["patient_id", "flag"]).tail(1)
    merged = out.drop(columns=["acked_by", "acked_at", "ack_note"]).merge(
        latest.rename(columns={"actor": "acked_by", "note": "ack_note", "trigger_at": "ack_trigger"}),
        on=["patient_id", "flag"], how="left")
    expired = merged["flag"].isin(EXPIRING_FLAGS) & (
        pd.Timestamp(now) - merged["acked_at"] >= timedelta(days=settings.ack_expiry_days))
    covers = merged["acked_at"].notna() & (merged["acked_at"] >= merged["trigger_at"]) & ~expired
    merged.loc[~covers, ["acked_by", "ack_note"]] = None
    merged.loc[~covers, "acked_at"] = pd.NaT
    return merged.drop(columns=["ack_trigger"])
