"""Server-side session rules the cookie cannot enforce: logging out an idle
session, and refusing a login after repeated failures (counted in the audit
table, so the limit holds across sessions, browsers and app instances)."""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select

from dashboard.state import audit as audit_table

LAST_ACTIVE = "last_active"  # monotonic time of the clinician's last action
TIMER_RUN = "timer_run"  # set by a page's own refresh timer just before it reruns


def mark_timer_run(session: MutableMapping) -> None:
    """A rerun the clinician did not ask for (the triage queue's refresh)."""
    session[TIMER_RUN] = True


def idle_expired(session: MutableMapping, idle_minutes: float, now: float | None = None) -> bool:
    """True when the session has been idle too long; otherwise records this run as
    activity unless a refresh timer caused it."""
    now = time.monotonic() if now is None else now
    last = session.get(LAST_ACTIVE)
    if last is not None and now - last >= idle_minutes * 60:
        session.pop(LAST_ACTIVE, None)
        session.pop(TIMER_RUN, None)
        return True
    if not session.pop(TIMER_RUN, False) or last is None:
        session[LAST_ACTIVE] = now
    return False


def recent_failures(state: Engine, now: datetime, window_minutes: float) -> dict[str, int]:
    """Failed logins per username within the window, counting only those after the
    user's last successful login."""
    since = now - timedelta(minutes=window_minutes)
    ok = audit_table.alias("ok")
    newer_login = (select(ok.c.id).where(ok.c.actor == audit_table.c.actor, ok.c.action == "login",
                                         ok.c.occurred_at > audit_table.c.occurred_at).exists())
    stmt = (select(audit_table.c.actor, func.count().label("n"))
            .where(audit_table.c.action == "login_failed", audit_table.c.occurred_at >= since, ~newer_login)
            .group_by(audit_table.c.actor))
    with state.connect() as conn:
        return {row.actor: int(row.n) for row in conn.execute(stmt)}
