"""The refresher: derived per-response facts kept ahead of the page (issue 17).

``refresh`` copies each platform response's raw item aggregates into the state
database's ``dash_response_facts``, computed by the same definition the pages use
live (``responses.item_stats``): one definition, two schedules. It reads only the
platform rows past its watermark, and the platform stays read-only.

Why not just "rows with id > the last id read": a row with a lower id can commit
after a higher one was read (ids are handed out at insert, not at commit), and
``response_items`` has neither an id nor a time. So each refresh

* re-reads every response above ``floor_id``, the watermark as it stood at least
  ``overlap_seconds`` ago, and de-duplicates by id (an upsert keyed by response id);
  a platform transaction open for less than the overlap is never missed;
* re-reads the responses whose items still look incomplete (fewer item rows than
  the instrument has items) until one read comes at least ``settle_seconds`` after
  the refresher first saw them (at once for a response already that old when seen);
* runs only under a lease (``dash_refresh_lease``), so one refresher works at a time.
  The lease saves work, it is not what keeps the rows right: every write is an
  idempotent upsert of recomputed facts, and a refresher that outlives its lease
  can only leave the floor lower (more re-reading), never skip a row.

``reconcile`` (``caseboard refresh --full``) recomputes every row and logs the drift it
repairs: anything the rules above cannot see (an item added to a complete response,
a transaction open longer than the overlap, a row edited in place).

All of it assumes ids that grow at insert: ``check_platform_ids`` checks the columns
when a refresher starts, and a highest id below the watermark (a restored or reseeded
platform) makes ``refresh`` rebuild every row instead. One ``cycle`` runs on two
schedules: ``caseboard refresh [--every]``, and ``run_forever`` in the app's own
process for the embedded demo (dashboard/ui/refresher.py).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from dashboard import team_snapshot
from dashboard.config import Settings
from dashboard.logs import log_event
from dashboard.response_facts import SOURCE, definition_hash, still_awaited
from dashboard.responses import RULE_STATS, item_stats
from dashboard.schema import responses as r
from dashboard.state_tables import refresh_lease, refresh_marks, response_facts
from dashboard.timeutil import utcnow

Clock = Callable[[], datetime]  # naive UTC, read when a time is recorded (tests pass a stopped one)

JOB = "refresh"
LEASE_HELD = "lease held"
DONE = "done"
# The columns of dash_response_facts that come from the platform (compared by reconcile).
FACTS = (
    "patient_id",
    "instrument",
    "administered_at",
    "total_score",
    "n_item_rows",
    "n_valid_items",
    "valid_item_sum",
    "risk_item_score",
    *RULE_STATS,
)


@dataclass(frozen=True)
class RefreshSettings:
    """The refresher's timing. Not the clinical ``config.Settings``: derived rows hold
    raw facts only, so no clinical threshold changes what they contain."""

    overlap_seconds: float = 300  # longest platform transaction that is never missed
    settle_seconds: float = 3600  # how long an incomplete response's items are awaited
    lease_seconds: float = 600  # a crashed refresher's lease lapses after this
    batch: int = 5000  # response ids per statement (bounded memory on a full refresh)


@dataclass(frozen=True)
class RefreshReport:
    status: str  # DONE, or LEASE_HELD when another refresher works (nothing written)
    full: bool
    read: int  # responses recomputed from the platform
    watermark: int  # highest response id read so far
    floor: int  # the next refresh re-reads every id above this
    drift: int = 0  # rows a full reconcile found wrong and repaired
    teams_built: int | None = None  # team snapshots rebuilt by this cycle (None: not asked to build them)
    slowest_team_ms: float | None = None


@dataclass(frozen=True)
class TeamFigures:
    """What a cycle builds the team snapshots with: the app's settings and service zone
    (dashboard.team_snapshot). Without it a cycle keeps only the per-response rows."""

    settings: Settings
    tz: ZoneInfo


def stopped_clock(at: datetime) -> Clock:
    """A clock that always says ``at``: the benchmark, and tests that set the time."""
    return lambda: at


def default_holder() -> str:
    """Who holds the lease: host, process and a random part (no patient data)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _insert(conn: Connection, table):
    """The dialect's INSERT, which has ``on_conflict_do_update``/``_nothing`` on both backends."""
    return (postgresql if conn.dialect.name == "postgresql" else sqlite).insert(table)


# ---------------------------------------------------------------- the lease


def take_lease(state: Engine, holder: str, now: datetime, seconds: float) -> bool:
    """Take or renew the lease in one transaction: a conditional UPDATE (the lease is
    lapsed or already ours), else an INSERT that does nothing if a row exists. On
    PostgreSQL a concurrent UPDATE waits for the row and re-checks the condition; on
    SQLite writers are serialised. Either way exactly one caller gets True."""
    until = now + timedelta(seconds=seconds)
    lease = refresh_lease.c
    with state.begin() as conn:
        renewed = conn.execute(
            update(refresh_lease)
            .where(lease.job == JOB, or_(lease.expires_at <= now, lease.holder == holder))
            .values(holder=holder, expires_at=until)
            .returning(lease.job)
        ).first()
        if renewed is not None:
            return True
        created = conn.execute(
            _insert(conn, refresh_lease)
            .values(job=JOB, holder=holder, expires_at=until)
            .on_conflict_do_nothing(index_elements=["job"])
            .returning(lease.job)
        ).first()  # RETURNING, not rowcount: drivers differ in what they count here
        return created is not None


def release_lease(state: Engine, holder: str, now: datetime) -> None:
    """Let the next refresher start at once instead of waiting for the lease to lapse."""
    with state.begin() as conn:
        conn.execute(
            update(refresh_lease)
            .where(refresh_lease.c.job == JOB, refresh_lease.c.holder == holder)
            .values(expires_at=now)
        )


@contextmanager
def _leased(state: Engine, holder: str, now: datetime, seconds: float) -> Iterator[bool]:
    """Work under the lease: yields whether this holder got it, and releases it after
    the work (also when the work fails). A holder that did not get it must write nothing."""
    if not take_lease(state, holder, now, seconds):
        yield False
        return
    try:
        yield True
    finally:
        release_lease(state, holder, now)


# ---------------------------------------------------------------- the platform's ids

# The platform id columns a watermark relies on: (table, column).
WATERMARKED = (("responses", "id"),)


def check_platform_ids(platform: Engine) -> list[str]:
    """What in the platform's ids breaks the watermark's assumption, in words (empty:
    none). The refresher assumes a new row gets a higher integer id than every row
    already visible, handed out at insert: on PostgreSQL a sequence or identity column
    that caches no ids per session and never wraps around, on SQLite the rowid (an
    INTEGER PRIMARY KEY of a table with rowids). Checked when a refresher starts; ids
    that went back below the watermark are handled by ``refresh`` itself (a rebuild)."""
    with platform.connect() as conn:
        check = _postgresql_id_problems if conn.dialect.name == "postgresql" else _sqlite_id_problems
        return [problem for table, column in WATERMARKED for problem in check(conn, table, column)]


def _postgresql_id_problems(conn: Connection, table: str, column: str) -> list[str]:
    name = f"{table}.{column}"
    data_type = conn.scalar(
        text(
            "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = :table AND column_name = :column"
        ),
        {"table": table, "column": column},
    )
    if data_type not in ("smallint", "integer", "bigint"):
        return [f"{name} is {data_type or 'missing'}, not an integer: the refresher's watermark needs growing ids."]
    sequence = conn.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table, "column": column})
    if sequence is None:
        return [
            f"{name} is not filled by a sequence or an identity column, so nothing makes a new row's id higher "
            "than the ids already read: the refresher cannot keep a watermark on it."
        ]
    cache, cycles = conn.execute(
        text("SELECT seqcache, seqcycle FROM pg_sequence WHERE seqrelid = CAST(:sequence AS regclass)"),
        {"sequence": sequence},
    ).one()
    problems = []
    if cache > 1:
        problems.append(
            f"{name}'s sequence {sequence} hands out {cache} ids at a time per session, so a lower id can be used "
            f"long after a higher one was read: the refresher needs ALTER SEQUENCE {sequence} CACHE 1."
        )
    if cycles:
        problems.append(
            f"{name}'s sequence {sequence} wraps around (CYCLE), so ids can go back: the refresher needs NO CYCLE."
        )
    return problems


def _sqlite_id_problems(conn: Connection, table: str, column: str) -> list[str]:
    name = f"{table}.{column}"
    columns = {row.name: row for row in conn.execute(text(f'PRAGMA table_info("{table}")'))}
    declared = columns[column].type.upper() if column in columns else None
    if declared is None or "INT" not in declared:
        return [f"{name} is {declared or 'missing'}, not an integer: the refresher's watermark needs growing ids."]
    keys = [c for c in columns.values() if c.pk]
    with_rowid = conn.scalar(text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table})
    if declared != "INTEGER" or [c.name for c in keys] != [column] or "WITHOUT ROWID" in (with_rowid or "").upper():
        return [
            f"{name} is not an INTEGER PRIMARY KEY (SQLite's rowid), so nothing makes a new row's id higher than "
            "the ids already read: the refresher cannot keep a watermark on it."
        ]
    return []


# ---------------------------------------------------------------- reading the platform


def read_facts(platform: Connection, response_ids: Select) -> list[dict]:
    """``item_stats`` of the selected responses, as rows for dash_response_facts."""
    return [dict(row._mapping) for row in platform.execute(item_stats(response_ids))]


def read_top(platform: Connection, clock: Clock) -> tuple[int, datetime]:
    """The platform's highest response id, and the time *after* reading it (F6). The
    floor moves up to an id only an overlap after the time recorded with it, so that
    time must not precede the read: every id up to ``top`` was taken before the read,
    hence before the time returned, and its transaction (shorter than the overlap)
    has committed an overlap later. A time taken before the read (a lease wait, a busy
    database) would let the floor pass a row still uncommitted."""
    top = int(platform.scalar(select(func.coalesce(func.max(r.c.id), 0))))
    return top, clock()


def _id_ranges(lo: int, hi: int, batch: int):
    """(lo, hi] split into steps of ``batch`` ids."""
    while lo < hi:
        yield lo, min(lo + batch, hi)
        lo += batch


def _by_range(lo: int, hi: int) -> Select:
    return select(r.c.id).where(r.c.id > lo, r.c.id <= hi)


def _awaited(state: Connection) -> list[int]:
    """Responses whose items may still be arriving: fewer item rows than the instrument
    has items, and not yet read once at or after their ``awaited_until``."""
    return list(state.scalars(select(response_facts.c.response_id).where(still_awaited())))


def _awaited_until(administered_at: datetime | None, now: datetime, settings: RefreshSettings) -> datetime:
    """For a response first seen now: wait the settle age for its items, unless it was
    administered longer ago than that (its items are all in by now, or lost: reconcile)."""
    settle = timedelta(seconds=settings.settle_seconds)
    recent = administered_at is not None and administered_at > now - settle
    return now + settle if recent else now


def _upsert(state: Connection, rows: list[dict], now: datetime, settings: RefreshSettings) -> None:
    """Insert or rewrite these responses' facts; ``awaited_until`` keeps its first value."""
    if not rows:
        return
    stmt = _insert(state, response_facts)
    stmt = stmt.on_conflict_do_update(
        index_elements=["response_id"],
        set_={**{c: stmt.excluded[c] for c in FACTS}, "refreshed_at": stmt.excluded.refreshed_at},
    )
    state.execute(
        stmt,
        [
            {**row, "awaited_until": _awaited_until(row["administered_at"], now, settings), "refreshed_at": now}
            for row in rows
        ],
    )


# ---------------------------------------------------------------- the watermark


@dataclass(frozen=True)
class Mark:
    last_id: int
    last_at: datetime
    pending_id: int
    pending_at: datetime
    floor_id: int
    facts_hash: str | None = None  # the definition that made the stored rows (None: none, or rebuilding)


def read_mark(state: Connection) -> Mark | None:
    row = state.execute(select(refresh_marks).where(refresh_marks.c.source == SOURCE)).one_or_none()
    if row is None:
        return None
    return Mark(row.last_id, row.last_at, row.pending_id, row.pending_at, row.floor_id, row.facts_hash)


def next_mark(mark: Mark | None, top: int, now: datetime, settings: RefreshSettings) -> Mark:
    """The watermark after a refresh that read every id above ``mark.floor_id`` up to ``top``.

    The floor may move up to the pending mark only once a refresh at least the overlap
    after that mark has read above the old floor: by then every row with an id up to
    the pending mark has committed (a transaction shorter than the overlap) and was read."""
    if mark is None:
        return Mark(top, now, top, now, 0)
    if now - mark.pending_at >= timedelta(seconds=settings.overlap_seconds):
        return Mark(top, now, top, now, mark.pending_id)
    return Mark(max(top, mark.last_id), now, mark.pending_id, mark.pending_at, mark.floor_id)


def _write_mark(state: Connection, mark: Mark, facts_hash: str | None) -> None:
    """Store the watermark; ``facts_hash``: the definition every stored row was made by
    (dashboard.response_facts reads the rows only under its own), None while rebuilding."""
    values = {
        "last_id": mark.last_id,
        "last_at": mark.last_at,
        "pending_id": mark.pending_id,
        "pending_at": mark.pending_at,
        "floor_id": mark.floor_id,
        "facts_hash": facts_hash,
    }
    stmt = _insert(state, refresh_marks).values(source=SOURCE, **values)
    state.execute(stmt.on_conflict_do_update(index_elements=["source"], set_=values))


# ---------------------------------------------------------------- the two jobs


def refresh(
    platform: Engine,
    state: Engine,
    clock: Clock = utcnow,
    settings: RefreshSettings = RefreshSettings(),
    holder: str | None = None,
) -> RefreshReport:
    """One incremental refresh: the responses above the floor and those still awaited.
    Returns at once, writing nothing, when another refresher holds the lease. When the
    platform's ids went back below the watermark (restored or reseeded), no stored row
    is trusted: it rebuilds them all instead, as ``reconcile`` does, and logs it."""
    with _leased(state, holder or default_holder(), clock(), settings.lease_seconds) as got:
        return _refresh_rows(platform, state, clock, settings) if got else _held(state, full=False)


def reconcile(
    platform: Engine,
    state: Engine,
    clock: Clock = utcnow,
    settings: RefreshSettings = RefreshSettings(),
    holder: str | None = None,
) -> RefreshReport:
    """Recompute every response's facts, repair the rows that differ (changed, missing
    or no longer on the platform), log each kind of drift it repaired, and count them.
    Also the first refresh of an empty state database (nothing to call drift then)."""
    with _leased(state, holder or default_holder(), clock(), settings.lease_seconds) as got:
        return _reconcile_rows(platform, state, clock, settings) if got else _held(state, full=True)


def _refresh_rows(platform: Engine, state: Engine, clock: Clock, settings: RefreshSettings) -> RefreshReport:
    """``refresh``'s work, by a caller holding the lease."""
    with state.connect() as conn:
        mark = read_mark(conn)
        awaited = _awaited(conn)
    with platform.connect() as p:
        top, now = read_top(p, clock)
        if mark is not None and (top < mark.last_id or mark.facts_hash != definition_hash()):
            return _rebuild(p, state, clock, settings, mark)
        return _incremental(p, state, settings, mark, awaited, top, now)


def _reconcile_rows(platform: Engine, state: Engine, clock: Clock, settings: RefreshSettings) -> RefreshReport:
    """``reconcile``'s work, by a caller holding the lease."""
    with state.connect() as conn:
        mark = read_mark(conn)
    with platform.connect() as p:
        return _rebuild(p, state, clock, settings, mark)


def _incremental(
    p: Connection,
    state: Engine,
    settings: RefreshSettings,
    mark: Mark | None,
    awaited: list[int],
    top: int,
    now: datetime,
) -> RefreshReport:
    """Read every id above the floor up to ``top`` (read at ``now``) and the awaited
    responses; move the mark."""
    floor = mark.floor_id if mark else 0
    batches = [_by_range(lo, hi) for lo, hi in _id_ranges(floor, top, settings.batch)]
    batches += [
        select(r.c.id).where(r.c.id.in_(awaited[i : i + settings.batch]), r.c.id <= floor)
        for i in range(0, len(awaited), settings.batch)
    ]
    read = 0
    for ids in batches:
        rows = read_facts(p, ids)
        with state.begin() as conn:
            _upsert(conn, rows, now, settings)
        read += len(rows)
    new = next_mark(mark, top, now, settings)
    with state.begin() as conn:
        _write_mark(conn, new, definition_hash())
    return RefreshReport(DONE, False, read, new.last_id, new.floor_id)


def _rebuild(p: Connection, state: Engine, clock: Clock, settings: RefreshSettings, mark: Mark | None) -> RefreshReport:
    """Compare every stored row with the platform, repair and count what differs. Ids
    below the watermark mean the platform was restored or reseeded: the watermark
    starts again from nothing (its floor could lie above ids still to come). Rows of
    another definition (a new release or instrument file) are rewritten, not drift.
    Either way no page reads a stored row until all are rewritten (the mark's hash)."""
    top, now = read_top(p, clock)
    went_back = mark is not None and top < mark.last_id
    redefined = mark is not None and mark.facts_hash != definition_hash()
    if went_back:
        log_event("refresh_drift", logging.WARNING, kind="ids_went_back")
    elif redefined:
        log_event("refresh_rebuild", logging.INFO, reason="definition changed")
    if went_back or redefined:
        with state.begin() as conn:
            _write_mark(conn, mark, None)
    changed = missing = gone = read = 0
    f = response_facts.c
    for lo, hi in _id_ranges(0, max(top, _stored_top(state)), settings.batch):
        fresh = {row["response_id"]: row for row in read_facts(p, _by_range(lo, hi))}
        read += len(fresh)
        with state.begin() as conn:
            stored = {
                row.response_id: row._mapping
                for row in conn.execute(
                    select(f.response_id, *(f[c] for c in FACTS)).where(f.response_id > lo, f.response_id <= hi)
                )
            }
            wrong = [row for rid, row in fresh.items() if rid in stored and _differs(row, stored[rid])]
            new = [row for rid, row in fresh.items() if rid not in stored]
            stale = [rid for rid in stored if rid not in fresh]
            _upsert(conn, wrong + new, now, settings)
            if stale:
                conn.execute(delete(response_facts).where(f.response_id.in_(stale)))
        changed, missing, gone = changed + len(wrong), missing + len(new), gone + len(stale)
    first = mark is None or (redefined and not went_back)
    if not first:
        for kind, n in (("changed", changed), ("missing", missing), ("gone", gone)):
            if n:
                log_event("refresh_drift", logging.WARNING, kind=kind, rows=n)
    new_mark = next_mark(None if went_back else mark, top, now, settings)
    with state.begin() as conn:
        _write_mark(conn, new_mark, definition_hash())
        # Fresh statistics after rewriting every row: a page reads a team's kept rows by
        # patient, and a planner that still counts an empty table scans all 2 million.
        conn.execute(text(f"ANALYZE {response_facts.name}"))
    drift = 0 if first else changed + missing + gone
    return RefreshReport(DONE, True, read, new_mark.last_id, new_mark.floor_id, drift)


# ---------------------------------------------------------------- schedules


def cycle(
    platform: Engine,
    state: Engine,
    clock: Clock = utcnow,
    settings: RefreshSettings = RefreshSettings(),
    holder: str | None = None,
    full: bool = False,
    teams: TeamFigures | None = None,
) -> RefreshReport:
    """One refresher cycle: what ``caseboard refresh`` runs (once, or every ``--every``)
    and what the app's in-process runner runs on its timer. The one place a step of
    the refresher is added, so both schedules run the same: the per-response rows,
    then (with ``teams``) each team's Caseload snapshot older than its
    ``team_snapshot_every_seconds``, every one on a full cycle. The whole cycle runs
    under one lease, renewed before each team: a cycle longer than ``lease_seconds``
    (20 teams at 100,000 patients take minutes) keeps it, so a second refresher never
    builds the same snapshots beside it; one that lost its lease stops building."""
    holder = holder or default_holder()
    with _leased(state, holder, clock(), settings.lease_seconds) as got:
        if not got:
            return _held(state, full)
        report = (_reconcile_rows if full else _refresh_rows)(platform, state, clock, settings)
        if teams is None:
            return report
        built = team_snapshot.build_due(
            platform,
            state,
            clock(),
            teams.settings,
            teams.tz,
            float(teams.settings.team_snapshot_every_seconds),
            force=full,
            still_leased=lambda: take_lease(state, holder, clock(), settings.lease_seconds),
        )
    return replace(report, teams_built=len(built), slowest_team_ms=max((s.built_ms for s in built), default=None))


def run_forever(
    platform: Engine,
    state: Engine,
    every: float,
    stop: threading.Event,
    holder: str | None = None,
    clock: Clock = utcnow,
    settings: RefreshSettings = RefreshSettings(),
    teams: TeamFigures | None = None,
) -> None:
    """A cycle at once, then one every ``every`` seconds until ``stop`` is set: the
    body of the app's refresher thread. A failing cycle is logged (``refresh_failed``,
    the exception's class only) and the next one runs on time, so a database fault
    never ends the app or the thread. Platform ids the watermark cannot rely on end
    it at start (``refresh_refused``): the pages still compute everything live."""
    holder = holder or default_holder()
    checked = False
    while not stop.is_set():
        try:
            if not checked:
                if check_platform_ids(platform):
                    log_event(
                        "refresh_refused", logging.ERROR, reason="platform ids (run caseboard refresh to see why)"
                    )
                    return
                checked = True
            started = time.perf_counter()
            report = cycle(platform, state, clock, settings, holder, teams=teams)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            log_event(
                "refresh_cycle",
                logging.INFO,
                kind=report.status,
                rows=report.read,
                teams=report.teams_built,
                duration_ms=duration_ms,
            )
        except Exception as exc:  # the thread outlives any one cycle's fault
            log_event("refresh_failed", logging.ERROR, error=exc)
        stop.wait(every)


def forget(state: Engine, clock: Clock = utcnow, settings: RefreshSettings = RefreshSettings()) -> None:
    """Drop every derived row and the watermark: the platform they were read from is
    gone (the embedded demo was regenerated). Done under the lease, waiting for a cycle
    at work to end, so no cycle that read the old platform writes after this."""
    holder = default_holder()
    deadline = time.monotonic() + settings.lease_seconds  # a held lease lapses by then
    while True:
        with _leased(state, holder, clock(), settings.lease_seconds) as got:
            if got or time.monotonic() > deadline:
                with state.begin() as conn:
                    conn.execute(delete(response_facts))
                    conn.execute(delete(refresh_marks))
                return
        time.sleep(0.05)


def _stored_top(state: Engine) -> int:
    with state.connect() as conn:
        return int(conn.scalar(select(func.coalesce(func.max(response_facts.c.response_id), 0))))


def _differs(fresh: dict, stored) -> bool:
    """Any platform fact differs (a platform date in another format reads as None both ways)."""
    return any(fresh[c] != stored[c] for c in FACTS)


def _held(state: Engine, full: bool) -> RefreshReport:
    with state.connect() as conn:
        mark = read_mark(conn)
    return RefreshReport(LEASE_HELD, full, 0, mark.last_id if mark else 0, mark.floor_id if mark else 0)
