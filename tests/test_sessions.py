"""Server-side session rules: the session record (idle clock, logout, revocation),
and login attempts counted before the password is checked, per normalised
username, known or not (README, Sessions)."""

import threading
from datetime import datetime, timedelta

import bcrypt
import pytest
import yaml
from sqlalchemy import insert, select, update

from dashboard import audit, db, sessions
from dashboard.cli import unlock
from dashboard.engine import make_engine
from dashboard.schema import clinicians
from dashboard.state_tables import sessions as sessions_table
from tests.apptest import logged_in
from tests.test_app import PASSWORD, app_env, log_in, outcomes, run_app  # noqa: F401 - app_env is a fixture

IDLE = 15
T0 = datetime(2026, 11, 20, 9, 0, 0)


def minutes(n: float) -> datetime:
    return T0 + timedelta(minutes=n)


@pytest.fixture
def state(db_url):
    engine = make_engine(db_url)
    db.upgrade(engine)
    yield engine
    engine.dispose()


# ---------------------------------------------------------------- the session record


def test_idle_rule_counts_only_the_clinicians_own_actions(state):
    sid = sessions.start_session(state, "dr.a", now=T0)
    assert sessions.check_session(state, sid, IDLE, now=minutes(14)).active  # an action at 14 min restarts the clock
    assert sessions.check_session(state, sid, IDLE, now=minutes(28), action=False).active  # a refresh does not...
    assert sessions.session_is_live(state, sid, IDLE, now=minutes(28.9))
    assert not sessions.session_is_live(state, sid, IDLE, now=minutes(29))  # what the idle watch sees
    check = sessions.check_session(state, sid, IDLE, now=minutes(29))  # ...so 15 min after the last action it ends
    assert (check.status, check.username) == (sessions.IDLE, "dr.a")
    assert sessions.check_session(state, sid, IDLE, now=minutes(29.5)).status == sessions.REVOKED  # for good


def test_a_reload_keeps_the_idle_clock(state):
    """A new browser session restored from the cookie is not an action: reloading
    every 10 minutes does not keep an unattended session alive."""
    sid = sessions.start_session(state, "dr.a", now=T0)
    for at in (10, 14):
        assert sessions.check_session(state, sid, IDLE, now=minutes(at), action=False).active
    assert sessions.check_session(state, sid, IDLE, now=minutes(15), action=False).status == sessions.IDLE


def test_logout_revokes_the_record_everywhere(state):
    sid = sessions.start_session(state, "dr.a", now=T0)
    other = sessions.start_session(state, "dr.a", now=T0)  # the same clinician in another browser
    assert sessions.end_session(state, sid, "logout", now=minutes(1))
    assert not sessions.end_session(state, sid, "logout", now=minutes(2))  # once
    check = sessions.check_session(state, sid, IDLE, now=minutes(2))
    assert (check.status, check.reason) == (sessions.REVOKED, "logout")
    assert sessions.check_session(state, other, IDLE, now=minutes(2)).active
    assert sessions.check_session(state, "made-up-id", IDLE).status == sessions.UNKNOWN


def test_a_failed_logout_audit_is_retried_later_and_written_once(state, monkeypatch):
    sid = sessions.start_session(state, "dr.a", now=T0)
    assert sessions.check_session(state, sid, IDLE, now=minutes(20)).status == sessions.IDLE

    def broken(*args, **kwargs):
        raise RuntimeError("audit table unavailable")

    with monkeypatch.context() as m:
        m.setattr(audit, "record_in", broken)
        sessions.audit_logouts_safely(state, sid)  # does not raise: the logout has happened
    assert sessions.check_session(state, sid, IDLE, now=minutes(21)).status == sessions.REVOKED
    assert audit.read(state, actor="dr.a").empty
    assert sessions.audit_logouts(state) == 1  # a later run
    assert sessions.audit_logouts(state) == 0
    trail = audit.read(state, actor="dr.a")
    assert trail["action"].tolist() == ["logout"] and "idle" in trail["detail"].iloc[0]


def age_sessions(url: str, by_minutes: float) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for row in conn.execute(select(sessions_table.c.session_id, sessions_table.c.last_action_at)).all():
            conn.execute(
                update(sessions_table)
                .where(sessions_table.c.session_id == row.session_id)
                .values(last_action_at=row.last_action_at - timedelta(minutes=by_minutes))
            )
    engine.dispose()


def test_an_idle_session_is_logged_out_on_the_server(app_env):  # noqa: F811
    at = log_in(run_app(), "therapist1")
    assert at.title[0].value == "Triage"
    age_sessions(app_env, IDLE + 1)
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert any("logged out after 15 minutes" in i.value for i in at.info)
    assert not at.dataframe
    trail = audit.read(make_engine(app_env), actor="therapist1")
    assert trail["action"].iloc[0] == "logout" and "idle" in trail["detail"].iloc[0]


def test_the_idle_logout_does_not_fail_open_when_its_audit_write_fails(app_env, monkeypatch):  # noqa: F811
    at = log_in(run_app(), "therapist2")
    age_sessions(app_env, IDLE + 1)
    real = audit.record_in

    def no_logout_rows(conn, actor, action, *args, **kwargs):
        if action == "logout":
            raise RuntimeError("audit table unavailable")
        return real(conn, actor, action, *args, **kwargs)

    monkeypatch.setattr(audit, "record_in", no_logout_rows)
    at.run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.dataframe
    monkeypatch.setattr(audit, "record_in", real)
    at.run()  # a later run writes the logout row
    assert outcomes(app_env, "therapist2")[0] == "logout"


# ---------------------------------------------------------------- login attempts

HASH = bcrypt.hashpw(b"right-password", bcrypt.gensalt(rounds=4)).decode()


def test_the_attempt_is_recorded_before_the_password_is_checked(state, monkeypatch):
    seen = []
    real = bcrypt.checkpw

    def checkpw(password, hashed):
        seen.append(audit.read(state)["action"].tolist())
        return real(password, hashed)

    monkeypatch.setattr(sessions.bcrypt, "checkpw", checkpw)
    sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "wrong", 5, 15)
    assert seen == [["login_attempt"]]


def test_a_parallel_burst_cannot_exceed_the_limit(state):
    results: list[str] = []
    barrier = threading.Barrier(12)

    def attempt():
        barrier.wait()
        results.append(sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "wrong", 5, 15).outcome)

    threads = [threading.Thread(target=attempt) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("wrong") <= 5 and results.count("locked") >= 7
    assert sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "right-password", 5, 15).outcome == "locked"


def test_unknown_usernames_are_counted_hashed_and_answered_alike(state, monkeypatch):
    checked = []
    real = bcrypt.checkpw
    monkeypatch.setattr(sessions.bcrypt, "checkpw", lambda pw, h: checked.append(h[:7]) or real(pw, h))
    known = [sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "wrong", 2, 15).outcome for _ in range(3)]
    unknown = [sessions.attempt_login(state, {"dr.a": HASH}, "Nobody", "wrong", 2, 15).outcome for _ in range(3)]
    assert known == unknown == ["wrong", "wrong", "locked"]
    assert checked == [b"$2b$04$"] * 6  # one check each, unknown ones against a dummy hash of the same cost
    actors = set(audit.read(state)["actor"])
    assert actors == {"dr.a", sessions.unknown_actor("nobody")} and not any("nobody" in a for a in actors)


def test_spellings_of_one_username_share_one_count(state):
    for name in ("Dr.A", "dr.a ", "DR.A"):
        assert sessions.attempt_login(state, {"dr.a": HASH}, name, "wrong", 3, 15).outcome == "wrong"
    assert sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "right-password", 3, 15).outcome == "locked"


def test_attempts_count_within_the_window_and_after_the_last_login(state):
    for _ in range(3):
        audit.record(state, "a", "login_attempt")
    audit.record(state, "b", "login_attempt")
    audit.record(state, "b", "login")  # a successful login clears earlier attempts
    now = datetime.now() + timedelta(seconds=5)
    assert sessions.attempts_since_success(state, "a", now, 15) == 3
    assert sessions.attempts_since_success(state, "b", now, 15) == 0
    assert sessions.attempts_since_success(state, "a", now + timedelta(minutes=20), 15) == 0


def test_an_operator_lifts_a_lockout_from_the_command_line(state, db_url, capsys):
    for _ in range(4):
        sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "wrong", 3, 15)
    assert sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "right-password", 3, 15).outcome == "locked"
    assert unlock.main(["--user", "DR.A", "--state-db", db_url]) == 0
    assert "dr.a: lockout lifted (5 attempts no longer count)" in capsys.readouterr().out
    assert sessions.attempt_login(state, {"dr.a": HASH}, "dr.a", "right-password", 3, 15).outcome == "ok"
    row = audit.read(state, actor="dr.a").query("action == 'login_unlocked'").iloc[0]
    assert '"by": "cli:' in row["detail"]


def test_repeated_failed_logins_lock_the_username(app_env):  # noqa: F811
    for _ in range(5):
        at = log_in(run_app(), "gp2", "wrong-password")
        assert any("incorrect" in e.value for e in at.error)
    assert outcomes(app_env, "gp2")[:5] == ["login_failed"] * 5
    at = log_in(run_app(), "GP2", PASSWORD)  # a new session, another spelling, the right password: still refused
    assert any("Too many failed logins" in e.value for e in at.error)
    assert not at.dataframe and at.text_input
    other = log_in(run_app(), "gp1")  # other users are not affected
    assert other.title[0].value == "Follow-ups due"


def test_an_unknown_username_gets_the_same_answers(app_env):  # noqa: F811
    for _ in range(5):
        at = log_in(run_app(), "no.such.user", "wrong-password")
        assert [e.value for e in at.error] == ["Username or password is incorrect."]
    at = log_in(run_app(), "no.such.user", "wrong-password")
    assert any("Too many failed logins" in e.value for e in at.error)
    assert audit.read(make_engine(app_env), actor="no.such.user").empty


# ---------------------------------------------------------------- the credentials file, on every run


def test_a_removed_account_is_refused_at_its_next_run(app_platform):
    from dashboard.config import load_config

    path = load_config().auth_file
    at = logged_in("ther.a")
    assert at.title[0].value == "Triage"
    raw = yaml.safe_load(path.read_text())
    del raw["credentials"]["usernames"]["ther.a"]
    path.write_text(yaml.safe_dump(raw))
    at.run()
    assert any("no longer authorised" in e.value for e in at.error)
    assert [t.label for t in at.text_input] == ["Username", "Password"] and not at.dataframe
    with make_engine(load_config().state_db_url).connect() as conn:
        assert conn.scalar(select(sessions_table.c.revoke_reason)) == "account_removed"


def test_a_rotated_password_takes_effect_without_a_restart(app_platform):
    from dashboard.config import load_config

    path = load_config().auth_file
    assert log_in(run_app(), "ther.b", app_platform.password).title[0].value == "Triage"
    raw = yaml.safe_load(path.read_text())
    raw["credentials"]["usernames"]["ther.b"]["password"] = bcrypt.hashpw(b"rotated-pass", bcrypt.gensalt(4)).decode()
    path.write_text(yaml.safe_dump(raw))
    assert any("incorrect" in e.value for e in log_in(run_app(), "ther.b", app_platform.password).error)
    assert log_in(run_app(), "ther.b", "rotated-pass").title[0].value == "Triage"


def test_a_clinician_row_in_another_case_matches_the_login(app_platform):
    with app_platform.engine.begin() as conn:
        conn.execute(
            insert(clinicians).values(id=99, username="Dr.Mixed", display_name="Dr Mixed", role="gp", team_id=1)
        )
    from dashboard.config import load_config

    path = load_config().auth_file
    raw = yaml.safe_load(path.read_text())
    raw["credentials"]["usernames"]["dr.mixed"] = dict(raw["credentials"]["usernames"]["gp.a"])
    path.write_text(yaml.safe_dump(raw))
    at = log_in(run_app(), " DR.MIXED", app_platform.password)
    assert at.title[0].value == "Follow-ups due"
