"""The embedded demo database in data/: generated on first run, reused, and
regenerated when it was made for a `now` more than a day old, so flags stay live."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine

from dashboard import demo
from dashboard.timeutil import utcnow

_lock = threading.Lock()


def needs_generation(engine: Engine, max_age_hours: float, now: datetime | None = None) -> bool:
    generated_for = demo.read_generated_for(engine)
    now = now or utcnow()
    return generated_for is None or now - generated_for > timedelta(hours=max_age_hours)


def ensure_demo_database(engine: Engine, max_age_hours: float) -> bool:
    """Generate the demo data if missing or stale; True if it did. Regeneration
    replaces the platform tables only: the dash_ tables (audit) are kept."""
    with _lock:
        if not needs_generation(engine, max_age_hours):
            return False
        demo.generate(engine)
        return True
