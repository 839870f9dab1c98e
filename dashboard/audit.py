"""The append-only audit log: who did what, when, to which patient."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, insert, select

from dashboard.state import audit

ACTIONS = ("login", "logout", "login_failed", "login_refused", "open_record", "denied", "acknowledge", "followup", "followup_correction",
           "followup_withdrawal", "export", "cli_report")


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def record(engine: Engine, actor: str, action: str, patient_id: int | None = None, **detail: Any) -> None:
    """Write one audit row in its own transaction."""
    with engine.begin() as conn:
        record_in(conn, actor, action, patient_id, **detail)


def record_in(conn: Connection, actor: str, action: str, patient_id: int | None = None, **detail: Any) -> None:
    """Write one audit row inside the caller's transaction, so a write and its
    audit row are stored together or not at all."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    conn.execute(
        insert(audit).values(
            occurred_at=utcnow(),
            actor=actor,
            action=action,
            patient_id=patient_id,
            detail=json.dumps(detail, sort_keys=True, default=str) if detail else None,
        )
    )


def read(engine: Engine, actor: str | None = None, limit: int = 1000) -> pd.DataFrame:
    stmt = select(audit).order_by(audit.c.occurred_at.desc(), audit.c.id.desc()).limit(limit)
    if actor is not None:
        stmt = stmt.where(audit.c.actor == actor)
    with engine.connect() as conn:
        return pd.read_sql(stmt, conn)
