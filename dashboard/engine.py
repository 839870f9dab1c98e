"""Engine creation: one place that knows the per-backend connection settings."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 10_000
SQLITE_PROGRESS_STEPS = 10_000  # virtual-machine steps between deadline checks (well under a millisecond)


def missing_sqlite_file(url: str) -> str | None:
    """The path of a file-backed SQLite URL whose file does not exist, else None.
    Opening one would create an empty database: a mistyped path must be refused
    instead (only ``caseboard demo`` and ``caseboard db upgrade`` create databases)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return None if Path(parsed.database).exists() else parsed.database


def make_engine(url: str, statement_timeout_s: float | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout (docs/design.md).

    WAL lets readers and a writer work at once, and the busy timeout makes a
    second writer wait instead of failing with "database is locked".
    ``statement_timeout_s`` bounds every statement: PostgreSQL's own
    ``statement_timeout``; on SQLite a progress handler that interrupts a
    statement past its deadline. The app sets it; command-line tools and the
    benchmark's whole-table baselines do not.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=OFF")
            cur.close()
            if statement_timeout_s:
                # The connection's current deadline, set as each statement starts; a
                # non-zero return interrupts the statement ("interrupted").
                deadline = record.info.setdefault("deadline", [float("inf")])
                dbapi_conn.set_progress_handler(lambda: int(time.monotonic() > deadline[0]), SQLITE_PROGRESS_STEPS)

        if statement_timeout_s:

            @event.listens_for(engine, "before_cursor_execute")
            def _start_clock(conn, _cursor, _statement, _params, _context, _many) -> None:
                conn.info.setdefault("deadline", [float("inf")])[0] = time.monotonic() + statement_timeout_s

        return engine
    # JIT compilation costs 30-100 ms per aggregate query and won nothing for the
    # dashboard's scoped queries (measured on the 100,000-patient bench database).
    options = "-c jit=off" + (f" -c statement_timeout={int(statement_timeout_s * 1000)}" if statement_timeout_s else "")
    return create_engine(url, pool_pre_ping=True, connect_args={"options": options})
