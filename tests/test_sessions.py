"""Server-side session rules: idle sessions are logged out (the queue's own
refresh is not activity), and repeated failed logins lock that username for a
while, counted in the audit table so the limit holds across sessions."""

from datetime import datetime, timedelta

from dashboard import audit, sessions
from dashboard.engine import make_engine
from tests.test_app import PASSWORD, app_env, log_in, run_app  # noqa: F401 - app_env is a fixture

IDLE = 15


def test_idle_rule_counts_only_the_clinicians_own_actions():
    session: dict = {}
    assert not sessions.idle_expired(session, IDLE, now=0)  # the first run starts the clock
    assert not sessions.idle_expired(session, IDLE, now=14 * 60)  # an action at 14 min restarts it
    sessions.mark_timer_run(session)
    assert not sessions.idle_expired(session, IDLE, now=28 * 60)  # a refresh at 28 min does not...
    assert sessions.idle_expired(session, IDLE, now=29 * 60)  # ...so 15 min after the last action it expires
    assert not sessions.idle_expired(session, IDLE, now=30 * 60)  # and a new session starts afresh


def test_an_idle_session_is_logged_out_on_the_server(app_env):  # noqa: F811
    at = log_in(run_app(), "therapist1")
    assert at.title[0].value == "Triage"
    at.session_state[sessions.LAST_ACTIVE] = at.session_state[sessions.LAST_ACTIVE] - (IDLE * 60 + 1)
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert any("logged out after 15 minutes" in i.value for i in at.info)
    trail = audit.read(make_engine(app_env), actor="therapist1")
    assert trail["action"].iloc[0] == "logout" and "idle" in trail["detail"].iloc[0]


def test_repeated_failed_logins_lock_the_username(app_env):  # noqa: F811
    for _ in range(5):
        at = log_in(run_app(), "gp2", "wrong-password")
        assert any("incorrect" in e.value for e in at.error)
    assert audit.read(make_engine(app_env), actor="gp2")["action"].tolist()[:5] == ["login_failed"] * 5
    at = run_app()  # a new session, the right password: still refused
    at.text_input[0].input("gp2")
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert any("Too many failed logins" in e.value for e in at.error)
    assert not at.session_state["authentication_status"] and not at.dataframe
    other = log_in(run_app(), "gp1")  # other users are not affected
    assert other.title[0].value == "Follow-ups due"


def test_failures_count_within_the_window_and_after_the_last_login(db_url):
    from dashboard import db

    engine = make_engine(db_url)
    db.upgrade(engine)
    for _ in range(3):
        audit.record(engine, "a", "login_failed")
    audit.record(engine, "b", "login_failed")
    audit.record(engine, "b", "login")  # a successful login clears earlier failures
    now = datetime.now() + timedelta(seconds=5)
    assert sessions.recent_failures(engine, now, 15) == {"a": 3}
    assert sessions.recent_failures(engine, now + timedelta(minutes=20), 15) == {}
