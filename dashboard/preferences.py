"""A clinician's preferences kept for their login in the state database: today the
language chosen in the sidebar, so a reload, a new tab or another computer opens in it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, insert, select, update

from dashboard import i18n
from dashboard.state_tables import preferences
from dashboard.timeutil import utcnow


def read_language(state: Engine, username: str) -> str | None:
    """The stored choice, or None (never chosen, or a language since removed)."""
    with state.connect() as conn:
        code = conn.execute(select(preferences.c.language).where(preferences.c.username == username)).scalar()
    return code if code in i18n.LANGUAGES else None


def save_language(state: Engine, username: str, code: str, now: datetime | None = None) -> None:
    if code not in i18n.LANGUAGES:
        raise ValueError(f"unknown language {code!r}")
    at = now or utcnow()
    with state.begin() as conn:
        changed = conn.execute(
            update(preferences).where(preferences.c.username == username).values(language=code, updated_at=at)
        ).rowcount
        if not changed:
            conn.execute(insert(preferences).values(username=username, language=code, updated_at=at))
