"""The embedded demo database in data/: generated on first run, reused, and
regenerated when it was made for a `now` more than a day old (so flags stay live)
or by an older generator. Each generation seeds the demo's history in the state
database too (dashboard.demo_history), so the service shown has a past."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, select

from dashboard import db, demo, demo_history, refresh
from dashboard.timeutil import utcnow

_lock = threading.Lock()


def needs_generation(engine: Engine, max_age_hours: float, now: datetime | None = None) -> bool:
    generated_for = demo.read_generated_for(engine)
    now = now or utcnow()
    if generated_for is None or now - generated_for > timedelta(hours=max_age_hours):
        return True
    with engine.connect() as conn:
        version = conn.scalar(select(demo.demo_meta.c.value).where(demo.demo_meta.c.key == "generator_version"))
    return version != demo.GENERATOR_VERSION


def ensure_demo_database(engine: Engine, max_age_hours: float, history: bool = True) -> bool:
    """Generate the demo data if missing or stale, and with ``history`` its past in the
    same database's state tables; True if it did. Regeneration replaces the platform
    tables and the history written for them, and drops the refresher's derived rows
    (read from the old platform); the dash_ sessions are kept. The history
    is written only into the embedded file itself: a separate state database may hold
    a real audit trail, which seeding would replace."""
    with _lock:
        if not needs_generation(engine, max_age_hours):
            return False
        now = utcnow()
        demo.generate(engine, now=now)
        if history:
            db.upgrade(engine)
            demo_history.seed_history(engine, engine, now)
            refresh.forget(engine)  # derived from the platform just replaced
        return True
