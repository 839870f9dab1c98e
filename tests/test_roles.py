"""The least-privilege PostgreSQL set-up (dashboard.roles) works and holds: the
app role reads the platform, reads and appends to its own tables, and can change
nothing; migrations are run by a separate role."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError

from dashboard import audit, db, refresh, roles, sessions, triage
from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.gp_followups import FollowupForm, log_followup
from dashboard.scope import load_viewer
from tests.conftest import PG_ADMIN_URL, create_pg_database, drop_pg_database
from tests.factory import Platform

NOW = datetime(2026, 3, 10, 12, 0)


@pytest.fixture
def deployment():
    """A platform database owned by the admin, dash_ tables migrated by a migrator
    role, and an app role granted exactly what dashboard.roles prints."""
    url = create_pg_database()
    suffix = uuid.uuid4().hex[:8]
    app, migrator = f"cb_app_{suffix}", f"cb_migrator_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    database = make_url(url).database
    try:
        platform = Platform(make_engine(url), NOW)
        pid = platform.patient("ROLE-1", gp=3, enrolled_days_ago=30)
        platform.module(pid, "depression", 1, 29, 20)
        with admin.connect() as conn:
            for role in (app, migrator):
                conn.execute(text(f"CREATE ROLE {role} LOGIN"))
            conn.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {migrator}"))
            conn.execute(text(f"GRANT USAGE, CREATE ON SCHEMA public TO {migrator}"))
            for statement in roles.platform_grants(app, database):
                conn.execute(text(statement))
        as_migrator = make_engine(make_url(url).set(username=migrator).render_as_string(hide_password=False))
        db.upgrade(as_migrator)
        with as_migrator.begin() as conn:
            for statement in roles.state_grants(app):
                conn.execute(text(statement))
        as_migrator.dispose()
        as_app = make_engine(make_url(url).set(username=app).render_as_string(hide_password=False))
        yield as_app, pid
        as_app.dispose()
        platform.engine.dispose()
    finally:
        admin.dispose()
        drop_pg_database(url)
        with create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT").connect() as conn:
            for role in (app, migrator):
                conn.execute(text(f"DROP ROLE IF EXISTS {role}"))


def test_the_app_role_can_do_its_work(deployment):
    engine, pid = deployment
    assert db.revision_problem(engine) is None
    gp = load_viewer(engine, "gp.a")
    result = triage.triage(engine, engine, load_viewer(engine, "ther.a"), NOW, Settings())
    assert set(result.patients["code"]) == {"ROLE-1"}
    form = FollowupForm(
        held_on=(NOW - timedelta(days=1)).date(),
        minutes=10,
        modality="phone",
        module_position=1,
        clinic_phq9=None,
        action="continue",
        pause_until=None,
        next_on=None,
    )
    log_followup(engine, engine, gp, pid, form, "key-1", NOW)  # a follow-up and its audit row
    audit.record(engine, "gp.a", "open_record", pid)
    assert len(audit.read(engine, actor="gp.a")) == 2


def test_the_app_role_can_keep_session_records(deployment):
    engine, _pid = deployment
    sid = sessions.start_session(engine, "ther.a", now=NOW)
    assert sessions.check_session(engine, sid, 15, now=NOW + timedelta(minutes=5)).active  # the clock moves
    assert sessions.check_session(engine, sid, 15, now=NOW + timedelta(minutes=30)).status == sessions.IDLE
    assert sessions.audit_logouts(engine, sid) == 1
    sid = sessions.start_session(engine, "ther.a", now=NOW)
    assert sessions.end_session(engine, sid, "logout", now=NOW + timedelta(minutes=1))
    assert sessions.attempt_login(engine, {}, "nobody", "x", 5, 15).outcome == "wrong"


def test_the_app_role_can_run_the_refresher(deployment):
    """The derived rows are caches the refresher rewrites: lease, watermark and
    reconcile work as the app role (DERIVED_TABLES), history stays append-only."""
    engine, _pid = deployment
    assert refresh.refresh(engine, engine, refresh.stopped_clock(NOW)).status == refresh.DONE
    assert (
        refresh.refresh(engine, engine, refresh.stopped_clock(NOW + timedelta(minutes=10))).status == refresh.DONE
    )  # updates both rows
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM dash_response_facts"))
    assert refresh.reconcile(engine, engine, refresh.stopped_clock(NOW + timedelta(minutes=20))).drift == 0


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE dash_audit SET actor = 'someone else'",
        "DELETE FROM dash_audit",
        "DELETE FROM dash_followups",
        "UPDATE dash_acknowledgements SET note = ''",
        "TRUNCATE dash_audit",
        "INSERT INTO teams (id, name) VALUES (99, 'x')",
        "UPDATE patients SET status = 'completed'",
        "DELETE FROM messages",
        "UPDATE dash_sessions SET username = 'someone else'",  # only the clock and revocation columns
        "UPDATE dash_sessions SET created_at = now()",
        "DELETE FROM dash_sessions",
        "CREATE TABLE dash_extra (id int)",
        "DROP TABLE dash_audit",
        "ALTER TABLE dash_audit ADD COLUMN note text",  # schema changes are the migrator's
    ],
)
def test_the_app_role_cannot_change_history_or_the_platform(deployment, statement):
    engine, _pid = deployment
    with engine.begin() as conn, pytest.raises(ProgrammingError, match="permission denied|must be owner"):
        conn.execute(text(statement))
