"""The embedded demo database: generated on first run, reused, regenerated when stale."""

from datetime import timedelta

from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard import audit, config, db, demo
from dashboard.embedded import ensure_demo_database, needs_generation
from dashboard.engine import make_engine
from dashboard.schema import patients
from dashboard.timeutil import utcnow


def test_generated_once_reused_and_regenerated_when_a_day_old(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/demo.sqlite")
    assert needs_generation(engine, 24)
    assert ensure_demo_database(engine, 24) is True
    first = demo.read_generated_for(engine)
    assert abs(first - utcnow()) < timedelta(minutes=5)
    assert ensure_demo_database(engine, 24) is False  # fresh: reused
    assert demo.read_generated_for(engine) == first

    db.upgrade(engine)
    audit.record(engine, "therapist1", "login")
    demo.generate(engine, now=utcnow() - timedelta(hours=25))  # a demo made for yesterday
    assert needs_generation(engine, 24)
    assert ensure_demo_database(engine, 24) is True
    assert abs(demo.read_generated_for(engine) - utcnow()) < timedelta(minutes=5)
    assert audit.read(engine)["actor"].tolist() == ["therapist1"]  # dash_ rows survive


def test_first_start_without_configuration_builds_the_demo(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "DEMO_DB_PATH", tmp_path / "demo.sqlite")
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
