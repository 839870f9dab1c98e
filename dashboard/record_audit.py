"""Audit of record openings: once per session and patient, not on every rerun."""

from __future__ import annotations

from collections.abc import MutableMapping

from sqlalchemy import Engine

from dashboard import audit

_KEY = "audited_records"


def audit_once(
    session: MutableMapping, state: Engine, actor: str, action: str, patient_id: int | None, **detail: object
) -> bool:
    """Record ``action`` the first time this session sees it for this patient (or
    requested code); True if a row was written."""
    seen: set = session.setdefault(_KEY, set())
    key = (action, patient_id, tuple(sorted(detail.items())))
    if key in seen:
        return False
    audit.record(state, actor, action, patient_id, **detail)
    seen.add(key)
    return True
