"""Which platform rows an acknowledgement covers (pure; no database).

A clinician's screen is a snapshot. An acknowledgement records the keys of the
platform rows the screen showed for a reason (``evidence``: "response:812",
"message:40", "completion:7", ...) and covers exactly those rows: any other
qualifying row, whatever its timestamp (a back-filled answer, a row that
reached a lagging replica late), leaves the reason open. Comparing times alone
would let an acknowledgement of an item-9 answer of 1 silence a later 3.

Rules:
* a withdrawn acknowledgement covers nothing;
* for the expiring reasons an acknowledgement covers for ``ack_expiry_days``
  after it was made;
* an acknowledgement stored before evidence was recorded (revision 0005) keeps
  its old rule: it covers the rows whose event time is at or before the
  trigger it was made for.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pandas as pd

EXPIRING_FLAGS = frozenset({"inactive", "no_contact", "risk_unassessed", "questionnaire_overdue"})
ACK_COLUMNS = ["ack_id", "patient_id", "flag", "trigger_at", "acked_at", "actor", "note", "evidence", "withdrawn"]

# One piece of evidence: (key, event time). The time matters only for
# acknowledgements made before evidence was recorded.
Evidence = tuple[str, datetime]


def evidence_json(keys: Iterable[str]) -> str:
    """The stored form of the keys a screen showed (sorted, so equal sets store equal text)."""
    return json.dumps(sorted(set(keys)))


@dataclass(frozen=True)
class Ack:
    ack_id: int
    trigger_at: datetime
    acked_at: datetime
    actor: str
    note: str | None
    keys: frozenset[str] | None  # None: made before evidence was recorded

    def covers(self, key: str, at: datetime) -> bool:
        if self.keys is None:
            return pd.Timestamp(at) <= pd.Timestamp(self.trigger_at)
        return key in self.keys


class AckIndex:
    """The acknowledgements in force per (patient, reason), for one moment ``now``."""

    def __init__(self, acks: pd.DataFrame, now: datetime, expiry_days: float):
        self._by: dict[tuple[int, str], list[Ack]] = defaultdict(list)
        if acks is None or acks.empty:
            return
        expiry = pd.Timedelta(timedelta(days=expiry_days))
        now_ts = pd.Timestamp(now)
        for r in acks.sort_values(["acked_at", "ack_id"]).itertuples(index=False):
            if bool(r.withdrawn):
                continue
            if r.flag in EXPIRING_FLAGS and now_ts - pd.Timestamp(r.acked_at) >= expiry:
                continue
            keys = None if not isinstance(r.evidence, str) else frozenset(json.loads(r.evidence))
            self._by[(int(r.patient_id), r.flag)].append(
                Ack(int(r.ack_id), r.trigger_at, r.acked_at, r.actor, r.note if isinstance(r.note, str) else None, keys)
            )

    def in_force(self, patient_id: int, flag: str) -> list[Ack]:
        return self._by.get((patient_id, flag), [])

    def covered(self, patient_id: int, flag: str, key: str, at: datetime) -> bool:
        return any(a.covers(key, at) for a in self.in_force(patient_id, flag))

    def uncovered(self, patient_id: int, flag: str, evidence: Iterable[Evidence]) -> list[Evidence]:
        """The pieces of evidence no acknowledgement in force covers."""
        acks = self.in_force(patient_id, flag)
        return [(k, at) for k, at in evidence if not any(a.covers(k, at) for a in acks)]

    def covering(self, patient_id: int, flag: str, evidence: Iterable[Evidence]) -> Ack | None:
        """The latest acknowledgement when every piece is covered; None while any is open.
        A reason with no evidence is never covered."""
        evidence = list(evidence)
        if not evidence or self.uncovered(patient_id, flag, evidence):
            return None
        return self.in_force(patient_id, flag)[-1]


def apply_acks(flags: pd.DataFrame, index: AckIndex) -> pd.DataFrame:
    """``flags`` with ``acked_by``, ``acked_at``, ``ack_note`` and ``ack_id`` of the
    latest acknowledgement when the flag's whole evidence is covered (None: open)."""
    by, at, note, ids = [], [], [], []
    for pid, flag, evidence in zip(flags["patient_id"].tolist(), flags["flag"].tolist(), flags["evidence"].tolist()):
        ack = index.covering(int(pid), flag, evidence)
        by.append(None if ack is None else ack.actor)
        at.append(pd.NaT if ack is None else pd.Timestamp(ack.acked_at))
        note.append(None if ack is None else ack.note)
        ids.append(None if ack is None else ack.ack_id)
    return flags.assign(
        acked_by=by,
        acked_at=pd.Series(at, index=flags.index, dtype="datetime64[us]"),
        ack_note=note,
        ack_id=pd.Series(ids, index=flags.index, dtype="object"),
    )
