"""The app in AppTest: login, role-scoped My patients, refusals and error pages."""

from pathlib import Path

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard import audit, db
from dashboard.engine import make_engine
from dashboard.schema import clinicians, metadata, patients
from dashboard.ui.nav import PAGES_DIR
from tests.conftest import production_env

APP = "../dashboard/ui/app.py"
PASSWORD = "caseboard-demo"


@pytest.fixture
def app_env(monkeypatch, demo_db):
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    return demo_db


def run_app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    return at


def log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    return at.run()  # the authenticator's cookie write asks for one more run


def outcomes(url: str, actor: str) -> list[str]:
    """The actor's audit actions, newest first, without the ``login_attempt`` row each
    submitted form writes before its password is checked."""
    return [a for a in audit.read(make_engine(url), actor=actor)["action"] if a != "login_attempt"]


def table_codes(at: AppTest) -> set[str]:
    """The codes of the page's one patient table (the data-quality note's table aside)."""
    frames = [f for f in at.dataframe if "code" in f.value.columns]
    assert len(frames) == 1
    return set(frames[0].value["code"])


def active_codes(url: str, column: str, username: str) -> set[str]:
    engine = make_engine(url)
    with engine.connect() as conn:
        cid = conn.scalar(select(clinicians.c.id).where(clinicians.c.username == username))
        return set(
            conn.scalars(select(patients.c.code).where(patients.c[column] == cid, patients.c.status == "active"))
        )


def test_login_page_shows_demo_logins_and_no_data(app_env):
    at = run_app()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert any("caseboard-demo" in m.value for m in at.markdown)
    assert any("DEMO" in w.value for w in at.warning)
    assert not at.dataframe


def test_therapist_logs_in_to_triage_and_sees_only_their_active_patients(app_env):
    at = log_in(run_app(), "therapist1")
    assert not at.exception
    assert at.title[0].value == "Triage"  # a therapist's landing page (docs/design.md)
    at.switch_page(str(PAGES_DIR / "my_patients.py")).run()
    assert at.title[0].value == "My patients"
    assert table_codes(at) == active_codes(app_env, "therapist_id", "therapist1")
    assert any(c.value.startswith("Data as of") for c in at.caption)
    assert any("Log out" == b.label for b in at.sidebar.button)
    assert audit.read(make_engine(app_env), actor="therapist1")["action"].tolist()[:1] == ["login"]


def test_status_filter_widens_to_all_of_the_gps_patients(app_env):
    at = log_in(run_app(), "gp1")
    assert at.title[0].value == "Follow-ups due"  # a GP's landing page (docs/design.md)
    at.switch_page(str(PAGES_DIR / "my_patients.py")).run()
    at.multiselect[1].set_value([]).run()
    engine = make_engine(app_env)
    with engine.connect() as conn:
        gp = conn.scalar(select(clinicians.c.id).where(clinicians.c.username == "gp1"))
        n_all = conn.scalar(select(func.count()).select_from(patients).where(patients.c.gp_id == gp))
    assert len(table_codes(at)) == n_all


def test_wrong_password_shows_an_error_and_no_data(app_env):
    at = log_in(run_app(), "therapist1", "not-the-password")
    assert any("incorrect" in e.value for e in at.error)
    assert not at.dataframe and at.title[0].value == "Caseboard"


def test_logout_returns_to_the_login_form(app_env):
    at = log_in(run_app(), "lead1")
    assert at.dataframe
    next(b for b in at.sidebar.button if b.label == "Log out").click()
    at.run()
    assert any("logged out" in i.value for i in at.info) and not at.dataframe
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not at.dataframe
    assert outcomes(app_env, "lead1")[:2] == ["logout", "login"]
    log_in(at, "lead1")  # logging in again in the same browser session is audited again
    assert outcomes(app_env, "lead1")[:3] == ["login", "logout", "login"]


def test_login_without_clinician_row_sees_no_data(app_env, monkeypatch, tmp_path):
    import yaml

    from dashboard.config import DEMO_AUTH_FILE

    raw = yaml.safe_load(Path(DEMO_AUTH_FILE).read_text())
    raw["credentials"]["usernames"]["locum"] = dict(raw["credentials"]["usernames"]["gp1"])
    path = tmp_path / "users.yaml"
    path.write_text(yaml.safe_dump(raw))
    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(path))
    at = log_in(run_app(), "locum")
    assert any("no clinician record" in e.value for e in at.error)
    assert not at.dataframe


def test_production_refuses_demo_users_and_key(monkeypatch, demo_db):
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_MODE", "production")
    at = run_app()
    assert not at.exception
    assert at.title[0].value == "Caseboard cannot start"
    text = " ".join(m.value for m in at.markdown)
    assert "demo users are not allowed" in text and "cookie key" in text
    assert not at.text_input  # no login form


def test_schema_problem_gives_a_clear_page(monkeypatch, db_url, tmp_path):
    engine = make_engine(db_url)
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if t.name != "messages"])
    db.upgrade(engine)
    production_env(monkeypatch, tmp_path, engine, db_url)
    at = run_app()
    assert not at.exception
    assert at.title[0].value == "Caseboard cannot start"
    assert any("table 'messages' is missing" in m.value for m in at.markdown)
    # A failing check is not kept (app.check_platform_schema): once the platform is
    # repaired the next run shows the login form, with no minute's wait.
    metadata.tables["messages"].create(engine)
    at.run()
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_production_refuses_an_old_state_revision(monkeypatch, db_url, tmp_path):
    import secrets

    import bcrypt
    import yaml

    engine = make_engine(db_url)
    metadata.create_all(engine)
    db.upgrade(engine, "0001")
    users = {
        "dr.who": {
            "password": bcrypt.hashpw(b"x" * 12, bcrypt.gensalt(rounds=4)).decode(),
            "first_name": "A",
            "last_name": "B",
        }
    }
    path = tmp_path / "users.yaml"
    path.write_text(
        yaml.safe_dump({"credentials": {"usernames": users}, "cookie": {"name": "cb", "key": secrets.token_hex(32)}})
    )
    monkeypatch.setenv("DASHBOARD_DB_URL", db_url)
    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(path))
    at = run_app()
    assert at.title[0].value == "Caseboard cannot start"
    assert any("caseboard db upgrade" in m.value for m in at.markdown)


def test_production_login_page_hides_demo_credentials(monkeypatch, demo_db, tmp_path):
    import secrets

    import bcrypt
    import yaml

    db.upgrade(make_engine(demo_db))
    users = {
        "therapist3": {
            "password": bcrypt.hashpw(b"a-long-passphrase", bcrypt.gensalt(rounds=4)).decode(),
            "first_name": "T",
            "last_name": "Nine",
        }
    }
    path = tmp_path / "users.yaml"
    path.write_text(
        yaml.safe_dump({"credentials": {"usernames": users}, "cookie": {"name": "cb", "key": secrets.token_hex(32)}})
    )
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_MODE", "production")
    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(path))
    at = run_app()
    assert [t.label for t in at.text_input] == ["Username", "Password"]
    assert not any("caseboard-demo" in m.value for m in at.markdown)
    assert not any("DEMO" in w.value for w in at.warning)
    at = log_in(at, "therapist3", "a-long-passphrase")
    assert at.title[0].value == "Triage"


def test_demo_mode_is_refused_on_a_database_the_generator_did_not_make(monkeypatch, db_url):
    from datetime import datetime

    from tests.factory import Platform

    engine = make_engine(db_url)
    Platform(engine, datetime(2026, 11, 20, 9, 0))
    db.upgrade(engine)
    monkeypatch.setenv("DASHBOARD_DB_URL", db_url)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    at = run_app()
    assert at.title[0].value == "Caseboard cannot start"
    assert any("no demo_meta record" in m.value for m in at.markdown)
    assert not at.text_input  # no login form, so the published demo password opens nothing


@pytest.mark.parametrize(("program", "measure"), [("ocd", "OCI-R"), ("social_anxiety", "SPIN"), ("alcohol", "AUDIT")])
def test_a_demo_patient_of_each_new_programme_opens_with_its_measures(app_env, program, measure):
    """The demo's programmes whose primary measure is not PHQ-9 still collect PHQ-9 (its
    risk item, clinical-reference 3.3): the patient page opens on them with both."""
    from tests.apptest import open_patient, shown_text

    engine = make_engine(app_env)
    db.upgrade(engine)
    programs = metadata.tables["programs"]
    lead = select(clinicians.c.team_id).where(clinicians.c.username == "lead1").scalar_subquery()
    with engine.connect() as conn:
        name, code = conn.execute(
            select(programs.c.name, patients.c.code)
            .join(patients, patients.c.program_id == programs.c.id)
            .where(programs.c.code == program, patients.c.team_id == lead)
            .order_by(patients.c.enrolled_at)
            .limit(1)
        ).one()
    at = open_patient("lead1", code)
    text = shown_text(at)
    assert at.title[0].value.startswith(code) and name in text
    for shown in (measure, "PHQ-9"):
        assert shown in text, shown
