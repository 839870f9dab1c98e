"""Every page for every role in every language (issue 21): in the pseudo-locale no
word bypasses the catalogs; in each real language every page renders with its
translated heading, on SQLite, with one PostgreSQL smoke test per language."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, union

from dashboard import db, demo, i18n
from dashboard.config import Settings
from dashboard.demo import DEMO_USERS
from dashboard.engine import make_engine
from dashboard.my_patients import my_patients
from dashboard.quality import data_quality
from dashboard.responses import scored_responses
from dashboard.schema import clinicians, modules, patients, programs, teams
from dashboard.scope import load_viewer
from dashboard.ui.nav import HEADINGS, PAGES, PAGES_DIR, ROLE_PAGES
from tests.apptest import logged_in, open_patient
from tests.conftest import DEMO_NOW, fresh_database_url
from tests.pseudo import unmarked_texts

ROLE_USER = {role: user for user, role, _name, _team in reversed(DEMO_USERS)}  # the first demo user of each role
LANGUAGES = [code for code in i18n.LANGUAGES if code != i18n.SOURCE]
# (role, page) for every page a role may open, and its patient page ("patient")
VIEWS = [(role, page) for role, keys in sorted(ROLE_PAGES.items()) for page in (*keys, "patient")]


def demo_url(backend: str, tmp_path_factory):
    gen = fresh_database_url(backend, tmp_path_factory.mktemp(f"i18n-{backend}"))
    url = next(gen)
    engine = make_engine(url)
    demo.generate(engine, now=DEMO_NOW)
    db.upgrade(engine)  # the state tables beside it, as the embedded demo has them
    engine.dispose()
    return url, gen


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory):
    url, gen = demo_url("sqlite", tmp_path_factory)
    yield url
    gen.close()


@pytest.fixture(scope="module")
def platform_names(demo_sqlite) -> set[str]:
    """The words that come from the platform, never from the catalogs: people (names, usernames),
    teams, programmes and modules (names, titles, summaries), and patient names."""
    engine = make_engine(demo_sqlite)
    with engine.connect() as conn:
        rows = conn.execute(
            union(
                select(clinicians.c.display_name),
                select(clinicians.c.username),
                select(patients.c.display_name),
                select(programs.c.name),
                select(teams.c.name),
                select(modules.c.title),
                select(modules.c.summary),
            )
        ).scalars()
        names = {str(n) for n in rows if n}
    engine.dispose()
    return names


def first_patient(url: str, user: str) -> str:
    """A patient in the user's scope: the first of their list."""
    engine = make_engine(url)
    try:
        viewer = load_viewer(engine, user)
        return str(my_patients(engine, viewer, datetime.now(UTC).replace(tzinfo=None))["code"].iloc[0])
    finally:
        engine.dispose()


def open_view(url: str, role: str, page: str, monkeypatch, language: str):
    monkeypatch.setenv("DASHBOARD_DB_URL", url)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    monkeypatch.setenv("DASHBOARD_LANGUAGE", language)
    user = ROLE_USER[role]
    if page == "patient":
        at = open_patient(user, first_patient(url, user))
    else:
        at = logged_in(user).switch_page(str(PAGES_DIR / PAGES[page][0])).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("role, page", VIEWS)
def test_every_word_on_every_page_goes_through_the_catalogs(demo_sqlite, platform_names, role, page, monkeypatch):
    at = open_view(demo_sqlite, role, page, monkeypatch, i18n.PSEUDO)
    assert unmarked_texts(at, platform_names) == []


def patient_with_quality_notes(url: str, user: str) -> str:
    """A patient of ``user``'s (a therapist) with a response whose scoring has a data-quality
    note: the notes' table is empty for most patients, so the first one's page never shows it."""
    engine = make_engine(url)
    try:
        viewer = load_viewer(engine, user)
        mine = select(patients.c.id).where(patients.c.therapist_id == viewer.clinician_id)
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.connect() as conn:
            scored = scored_responses(conn, mine, now, Settings())
        noted = scored.loc[scored["quality"].notna(), "patient_id"].unique()
        pid = next(int(p) for p in noted if not data_quality(engine, viewer, now, Settings(), int(p)).empty)
        with engine.connect() as conn:
            return str(conn.scalar(select(patients.c.code).where(patients.c.id == pid)))
    finally:
        engine.dispose()


def test_a_patients_data_quality_notes_go_through_the_catalogs(demo_sqlite, platform_names, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DB_URL", demo_sqlite)
    monkeypatch.setenv("DASHBOARD_MODE", "demo")
    monkeypatch.setenv("DASHBOARD_LANGUAGE", i18n.PSEUDO)
    at = open_patient("therapist1", patient_with_quality_notes(demo_sqlite, "therapist1"))
    assert not at.exception, at.exception
    shown = [frame.value for frame in at.dataframe if "⟦Problem⟧" in frame.value.columns]
    assert shown and len(shown[0]) > 0  # the notes' table is on the page
    assert unmarked_texts(at, platform_names) == []


def heading(at) -> str:
    return at.title[0].value


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("role, page", VIEWS)
def test_every_page_renders_in_every_language(demo_sqlite, role, page, language, monkeypatch):
    at = open_view(demo_sqlite, role, page, monkeypatch, language)
    if page != "patient":  # the patient page's heading is the code and name
        with i18n.language(language):
            assert heading(at).startswith(i18n.gettext(HEADINGS[page]))  # Caseload adds " · <team>"
    logout = at.sidebar.button[-1].label
    with i18n.language(language):
        assert logout == i18n.gettext("Log out")


@pytest.fixture(scope="module")
def demo_postgresql(tmp_path_factory):
    url, gen = demo_url("postgresql", tmp_path_factory)
    yield url
    gen.close()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_therapists_triage_and_patient_on_postgresql(demo_postgresql, language, monkeypatch):
    triage = open_view(demo_postgresql, "therapist", "triage", monkeypatch, language)
    patient = open_view(demo_postgresql, "therapist", "patient", monkeypatch, language)
    with i18n.language(language):
        assert heading(triage) == i18n.gettext(HEADINGS["triage"])
        assert patient.sidebar.button[-1].label == i18n.gettext("Log out")
