"""Server-side session rules the cookie cannot enforce.

* Each login has a record in ``dash_sessions`` (a random id carried in the
  cookie's token): checked on every run, including the first run of a new
  browser session, and shared by every app instance. The idle clock is the
  record's last clinician action, so a reload or a new tab keeps it; logout,
  idle and a removed account revoke the record, and a revoked record never
  logs in again, whatever the cookie says.
* Login attempts are recorded in the audit table *before* the password is
  checked and counted per normalised username (an unknown one under a hash), so
  a burst of parallel attempts cannot exceed the limit, and an unknown username
  costs the same bcrypt check and gets the same answer as a known one.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import bcrypt
from sqlalchemy import Engine, func, insert, select, update

from dashboard import audit
from dashboard.auth import normalise_username
from dashboard.logs import log_event
from dashboard.state_tables import audit as audit_table
from dashboard.state_tables import sessions as sessions_table
from dashboard.timeutil import utcnow

log = logging.getLogger(__name__)

TIMER_RUN = "timer_run"  # set by a page's own refresh timer just before it reruns
SESSION_KEY = "caseboard_session"  # session_state: the record id of this browser session's login

ACTIVE, UNKNOWN, REVOKED, IDLE = "active", "unknown", "revoked", "idle"
# What ends an attempt count: a successful login, or an operator lifting the lockout.
RESETS = ("login", "login_unlocked")
# The last action is stored at most this often per session: a run is a primary-key
# read, and a write only when the clock has moved this far (idle precision, not safety).
TOUCH_EVERY = timedelta(seconds=10)


def mark_timer_run(session: MutableMapping) -> None:
    """A rerun the clinician did not ask for (the triage queue's refresh, the idle watch)."""
    session[TIMER_RUN] = True


def take_timer_run(session: MutableMapping) -> bool:
    """True once after ``mark_timer_run``: this run is not a clinician action."""
    return bool(session.pop(TIMER_RUN, False))


# ---------------------------------------------------------------- session records


@dataclass(frozen=True)
class SessionCheck:
    status: str
    username: str | None = None
    reason: str | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE


def start_session(state: Engine, username: str, now: datetime | None = None) -> str:
    """A new session record for a successful login; returns its random id."""
    now = now or utcnow()
    session_id = secrets.token_urlsafe(32)
    with state.begin() as conn:
        conn.execute(
            insert(sessions_table).values(session_id=session_id, username=username, created_at=now, last_action_at=now)
        )
    return session_id


def check_session(
    state: Engine, session_id: str, idle_minutes: float, now: datetime | None = None, action: bool = True
) -> SessionCheck:
    """Whether this session may run now. A session idle for ``idle_minutes`` since its
    last clinician action is revoked here (the logout happens first; its audit row
    is written by ``audit_logouts`` afterwards). ``action`` records this run as the
    clinician's action; a refresh timer or a new browser session restored from the
    cookie passes False, so neither restarts the idle clock."""
    now = now or utcnow()
    with state.begin() as conn:
        row = conn.execute(select(sessions_table).where(sessions_table.c.session_id == session_id)).first()
        if row is None:
            return SessionCheck(UNKNOWN)
        if row.revoked_at is not None:
            return SessionCheck(REVOKED, row.username, row.revoke_reason)
        if now - row.last_action_at >= timedelta(minutes=idle_minutes):
            conn.execute(
                update(sessions_table)
                .where(sessions_table.c.session_id == session_id, sessions_table.c.revoked_at.is_(None))
                .values(revoked_at=now, revoke_reason=IDLE)
            )
            return SessionCheck(IDLE, row.username, IDLE)
        if action and now - row.last_action_at >= TOUCH_EVERY:
            conn.execute(
                update(sessions_table).where(sessions_table.c.session_id == session_id).values(last_action_at=now)
            )
    return SessionCheck(ACTIVE, row.username)


def session_is_live(state: Engine, session_id: str, idle_minutes: float, now: datetime | None = None) -> bool:
    """Read-only: False once the session is revoked, unknown or past its idle time
    (the page's idle watch asks this without counting as an action)."""
    now = now or utcnow()
    with state.connect() as conn:
        row = conn.execute(
            select(sessions_table.c.last_action_at, sessions_table.c.revoked_at).where(
                sessions_table.c.session_id == session_id
            )
        ).first()
    return row is not None and row.revoked_at is None and now - row.last_action_at < timedelta(minutes=idle_minutes)


def end_session(state: Engine, session_id: str, reason: str, now: datetime | None = None) -> bool:
    """Revoke the record (logout, account removed); True if this call revoked it."""
    now = now or utcnow()
    with state.begin() as conn:
        result = conn.execute(
            update(sessions_table)
            .where(sessions_table.c.session_id == session_id, sessions_table.c.revoked_at.is_(None))
            .values(revoked_at=now, revoke_reason=reason)
        )
    return result.rowcount == 1


def audit_logouts(state: Engine, session_id: str | None = None, limit: int = 50) -> int:
    """Write the ``logout`` audit row of revoked sessions that have none yet (this one,
    or any): the mark and the row are one transaction, so a failed audit write is
    retried by a later run and never written twice. Returns how many it wrote."""
    stmt = (
        select(sessions_table.c.session_id, sessions_table.c.username, sessions_table.c.revoke_reason)
        .where(sessions_table.c.revoked_at.is_not(None), sessions_table.c.logout_audited_at.is_(None))
        .limit(limit)
    )
    if session_id is not None:
        stmt = stmt.where(sessions_table.c.session_id == session_id)
    with state.connect() as conn:
        pending = conn.execute(stmt).all()
    written = 0
    for row in pending:
        with state.begin() as conn:
            marked = conn.execute(
                update(sessions_table)
                .where(sessions_table.c.session_id == row.session_id, sessions_table.c.logout_audited_at.is_(None))
                .values(logout_audited_at=utcnow())
            )
            if marked.rowcount != 1:
                continue  # another run audited it meanwhile
            detail = {} if row.revoke_reason == "logout" else {"reason": row.revoke_reason}
            audit.record_in(conn, row.username, "logout", **detail)
        log_event("logout", user=row.username, **detail)
        written += 1
    return written


def audit_logouts_safely(state: Engine, session_id: str | None = None) -> None:
    """``audit_logouts``, never raising: the logout has already happened and must
    not fail open because its audit row could not be written now."""
    try:
        audit_logouts(state, session_id)
    except Exception as exc:  # noqa: BLE001 - any failure: retried on a later run
        log.warning("logout audit deferred: %s", type(exc).__name__)


# ---------------------------------------------------------------- login attempts


@dataclass(frozen=True)
class LoginResult:
    outcome: str  # "ok", "wrong" or "locked"
    username: str  # normalised


def unknown_actor(username: str) -> str:
    """How an unknown username is counted and audited: hashed, never as typed (it is
    often a password typed into the wrong field)."""
    return "unknown:" + hashlib.sha256(username.encode()).hexdigest()[:32]


@lru_cache(maxsize=8)
def dummy_hash(cost: int) -> bytes:
    """A hash of the same cost as the real ones, checked for unknown usernames so
    they take as long as known ones."""
    return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(rounds=cost))


def hash_cost(hashes: Mapping[str, str]) -> int:
    for value in hashes.values():
        parts = value.split("$")
        if len(parts) > 2 and parts[2].isdigit():
            return int(parts[2])
    return 12


def attempts_since_success(state: Engine, actor: str, now: datetime, window_minutes: float) -> int:
    """Login attempts recorded for ``actor`` within the window and after its last
    successful login or unlock (compared by row id, which orders inserts)."""
    since = now - timedelta(minutes=window_minutes)
    last_reset = (
        select(func.max(audit_table.c.id))
        .where(audit_table.c.actor == actor, audit_table.c.action.in_(RESETS))
        .scalar_subquery()
    )
    stmt = (
        select(func.count())
        .select_from(audit_table)
        .where(
            audit_table.c.actor == actor,
            audit_table.c.action == "login_attempt",
            audit_table.c.occurred_at >= since,
            audit_table.c.id > func.coalesce(last_reset, 0),
        )
    )
    with state.connect() as conn:
        return int(conn.scalar(stmt) or 0)


def attempt_login(
    state: Engine,
    hashes: Mapping[str, str],
    username: str,
    password: str,
    max_attempts: int,
    window_minutes: float,
    now: datetime | None = None,
) -> LoginResult:
    """One login attempt: recorded first, then counted, then exactly one bcrypt check
    (against a dummy hash for an unknown username); refused when the count passes
    ``max_attempts``, even with the right password."""
    name = normalise_username(username)
    stored = hashes.get(name)
    actor = name if stored is not None else unknown_actor(name)
    audit.record(state, actor, "login_attempt")  # before the password is checked
    attempts = attempts_since_success(state, actor, utcnow(precise=True) if now is None else now, window_minutes)
    try:
        matches = bcrypt.checkpw(
            password.encode(), stored.encode() if stored is not None else dummy_hash(hash_cost(hashes))
        )
    except ValueError:  # a malformed stored hash never matches
        matches = False
    if attempts > max_attempts:
        audit.record(state, actor, "login_refused", reason="locked")
        return LoginResult("locked", name)
    if matches and stored is not None:
        return LoginResult("ok", name)
    audit.record(state, actor, "login_failed")
    return LoginResult("wrong", name)


def unlock(state: Engine, username: str, operator: str) -> int:
    """Lift a lockout (an operator's decision, audited): the attempts counted so far
    no longer count. Returns how many attempts were counted before."""
    name = normalise_username(username)
    before = attempts_since_success(state, name, utcnow(precise=True), 60 * 24 * 365)
    audit.record(state, name, "login_unlocked", by=operator, attempts=before)
    return before
