"""The embedded demo database: generated on first run, reused, regenerated when stale."""

import time
from datetime import timedelta

import pandas as pd
from sqlalchemy import func, insert, select, update
from streamlit.testing.v1 import AppTest

from dashboard import audit, config, db, demo, refresh
from dashboard.embedded import ensure_demo_database, needs_generation
from dashboard.engine import make_engine
from dashboard.schema import patients
from dashboard.state_tables import refresh_marks, response_facts, sessions
from dashboard.timeutil import utcnow
from dashboard.ui import refresher


def test_generated_once_reused_and_regenerated_when_a_day_old(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.sqlite")
    assert needs_generation(engine, 24)
    assert ensure_demo_database(engine, 24) is True
    first = demo.read_generated_for(engine)
    assert abs(first - utcnow()) < timedelta(minutes=5)
    assert ensure_demo_database(engine, 24) is False  # fresh: reused
    assert demo.read_generated_for(engine) == first

    trail = audit.read(engine, limit=100_000)
    assert {"login", "acknowledge", "followup"} <= set(trail["action"])  # the demo has a past
    assert pd.to_datetime(trail["occurred_at"]).max() <= first
    with engine.begin() as conn:  # a clinician logged in to yesterday's demo
        conn.execute(
            insert(sessions).values(
                session_id="s1", username="therapist1", created_at=first, last_action_at=first, revoked_at=None
            )
        )
    assert refresh.refresh(engine, engine).status == refresh.DONE  # derived rows of yesterday's platform
    demo.generate(engine, now=utcnow() - timedelta(hours=25))  # a demo made for yesterday
    assert needs_generation(engine, 24)
    assert ensure_demo_database(engine, 24) is True
    with engine.connect() as conn:  # read from a platform that is gone: dropped, the next refresh starts afresh
        assert conn.scalar(select(func.count()).select_from(response_facts)) == 0
        assert conn.scalar(select(func.count()).select_from(refresh_marks)) == 0
    regenerated = demo.read_generated_for(engine)
    assert abs(regenerated - utcnow()) < timedelta(minutes=5)
    # the history is made again for the new platform rows; sessions survive
    assert pd.to_datetime(audit.read(engine, limit=100_000)["occurred_at"]).max() <= regenerated
    with engine.connect() as conn:
        assert conn.execute(select(sessions.c.session_id)).scalars().all() == ["s1"]


def test_a_demo_made_by_an_older_generator_is_regenerated(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.sqlite")
    assert ensure_demo_database(engine, 24) is True
    with engine.begin() as conn:
        conn.execute(update(demo.demo_meta).where(demo.demo_meta.c.key == "generator_version").values(value="1"))
    assert needs_generation(engine, 24)
    assert ensure_demo_database(engine, 24) is True
    assert not needs_generation(engine, 24)


def test_first_start_without_configuration_builds_the_demo(tmp_path, monkeypatch):
    """...and refreshes its derived rows in the app's own process (no `caseboard refresh`)."""
    monkeypatch.setattr(config, "DEMO_DB_PATH", tmp_path / "demo.sqlite")
    monkeypatch.setattr(refresher, "_started", {})
    for var in ("DASHBOARD_DB_URL", "DASHBOARD_MODE", "DASHBOARD_STATE_DB_URL", "DASHBOARD_AUTH_FILE"):
        monkeypatch.delenv(var, raising=False)
    at = AppTest.from_file("../dashboard/ui/app.py", default_timeout=120)
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    engine = make_engine(f"sqlite:///{tmp_path}/demo.sqlite")
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(patients)) == demo.DEFAULT_PATIENTS
    assert db.current_revision(engine) == db.head_revision()
    (stop,) = refresher._started.values()
    try:
        deadline = time.monotonic() + 120  # the refresher thread's first cycle, however busy the machine
        while time.monotonic() < deadline and not refresh_mark(engine):
            time.sleep(0.2)
        assert refresh_mark(engine) is not None and refresh_mark(engine).last_id > 0
    finally:
        stop.set()


def refresh_mark(engine):
    with engine.connect() as conn:
        return refresh.read_mark(conn)


def test_a_separate_state_database_keeps_its_audit_trail_when_the_demo_is_made(tmp_path, monkeypatch):
    """The demo's history is seeded into the embedded file only: a state database of
    its own (DASHBOARD_STATE_DB_URL) may hold a real trail, which seeding would replace."""
    monkeypatch.setattr(config, "DEMO_DB_PATH", tmp_path / "demo.sqlite")
    monkeypatch.setattr(refresher, "_started", {})
    for var in ("DASHBOARD_DB_URL", "DASHBOARD_MODE", "DASHBOARD_AUTH_FILE"):
        monkeypatch.delenv(var, raising=False)
    state = make_engine(f"sqlite:///{tmp_path}/state.sqlite")
    db.upgrade(state)
    audit.record(state, "lead1", "export", None, what="workload")
    monkeypatch.setenv("DASHBOARD_STATE_DB_URL", str(state.url))
    at = AppTest.from_file("../dashboard/ui/app.py", default_timeout=120)
    at.run()
    assert not at.exception
    trail = audit.read(state, limit=100)
    assert list(trail["action"]) == ["export"] and list(trail["actor"]) == ["lead1"]
    assert refresher._started == {}  # a state database of its own: `caseboard refresh` runs beside it
