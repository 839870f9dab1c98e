"""Faults the app survives: a slow statement stopped at its limit (both backends),
the database unreachable at start and lost mid-session (PostgreSQL through a TCP
proxy that is cut and restored; the shared server is never stopped)."""

import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from dashboard.engine import make_engine
from dashboard.ui import faults
from tests.apptest import logged_in
from tests.conftest import create_pg_database, drop_pg_database, served_platform
from tests.factory import followup_form
from tests.proxy import TcpProxy

SLOW = {
    "postgresql": "SELECT pg_sleep(3)",
    # a statement that keeps SQLite's virtual machine busy for seconds
    "sqlite": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM (SELECT x FROM c LIMIT 300000000)",
}


def test_a_slow_statement_is_stopped_at_its_time_limit(db_url, backend):
    engine = make_engine(db_url, statement_timeout_s=0.3)
    started = time.monotonic()
    with engine.connect() as conn, pytest.raises(OperationalError) as stopped:
        conn.execute(text(SLOW[backend])).all()
    assert time.monotonic() - started < 2.5
    assert faults.is_timeout(stopped.value)
    assert "longer than 0.3 s" in faults.message(stopped.value, 0.3)
    with engine.connect() as conn:  # the next statement runs normally
        assert conn.execute(text("SELECT 1")).scalar() == 1


def test_without_a_limit_tools_are_not_interrupted(db_url, backend):
    """Command-line tools and the benchmark's baselines build engines without a limit."""
    engine = make_engine(db_url)
    quick = SLOW[backend].replace("300000000", "200000").replace("pg_sleep(3)", "pg_sleep(0.4)")
    with engine.connect() as conn:
        conn.execute(text(quick)).all()


@pytest.fixture
def proxied(monkeypatch, tmp_path):
    """A hand-built PostgreSQL platform that the app reaches through a proxy the
    test controls (a network fault needs a network database; the SQLite path is
    covered by the time limit above)."""
    url = create_pg_database()
    try:
        proxy = TcpProxy()
        through = make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        platform = served_platform(url, monkeypatch, tmp_path, through)
        yield platform, proxy
        proxy.cut()
        platform.engine.dispose()
    finally:
        drop_pg_database(url)


def test_database_lost_mid_session_shows_a_banner_and_recovers(proxied):
    platform, proxy = proxied
    platform.patient("LOST-1", therapist=1, enrolled_days_ago=20)
    at = logged_in("ther.a")
    assert at.title[0].value == "Triage"
    proxy.cut()
    at.run()
    assert not at.exception  # no traceback
    assert any("cannot reach the database" in e.value for e in at.error)
    proxy.restore()
    at.button(key="fault_retry").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Triage"


def test_database_down_at_start_shows_a_banner_then_the_login(proxied):
    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP

    _platform, proxy = proxied
    proxy.cut()
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("cannot reach the database" in e.value for e in at.error)
    proxy.restore()
    at.button(key="fault_retry").click().run()
    assert not at.exception and not at.error
    assert at.title[0].value == "Caseboard"  # the login page


def test_a_write_that_fails_half_way_stores_nothing(platform, monkeypatch):
    """The follow-up and its audit row share one transaction: when the audit insert
    fails (the connection drops between the two), neither is stored."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from dashboard import audit
    from dashboard.gp_followups import log_followup
    from dashboard.scope import load_viewer
    from dashboard.state_tables import followups

    now = platform.now
    pid = platform.patient("HALF", gp=3, enrolled_days_ago=30)

    def dropped(*_args, **_kwargs):
        raise OperationalError("INSERT INTO dash_audit ...", {}, ConnectionError("server closed the connection"))

    monkeypatch.setattr(audit, "record_in", dropped)
    form = followup_form((now - timedelta(days=1)).date())
    with pytest.raises(OperationalError) as failed:
        log_followup(platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form, "key-1", now)
    assert "cannot reach the database" in faults.message(failed.value, 30)  # what the page shows
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(followups)) == 0
