"""The served app in headless Chromium: a clinician logs in and sees their patients."""

import pytest
from sqlalchemy import func, select

from dashboard import demo
from dashboard.engine import make_engine
from dashboard.schema import clinicians, patients
from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_problem, log_in, screenshot, served_app, wait_for_app
from tests.conftest import missing

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser')}/demo.sqlite"
    demo.generate(make_engine(url))
    return url


@pytest.fixture(scope="module")
def app_url(demo_sqlite):
    with served_app({"DASHBOARD_DB_URL": demo_sqlite, "DASHBOARD_MODE": "demo"}) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    problem = chromium_problem()
    if problem:
        missing(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def test_therapist_logs_in_and_sees_their_patients(app_url, page, demo_sqlite):
    page.goto(app_url)
    wait_for_app(page)
    screenshot(page, "login")
    log_in(page, "therapist1", "caseboard-demo")
    page.get_by_role("heading", name="Triage").wait_for(timeout=30_000)
    screenshot(page, "triage-therapist")
    page.get_by_role("link", name="My patients").click()
    wait_for_app(page)
    page.get_by_role("heading", name="My patients").wait_for(timeout=30_000)
    engine = make_engine(demo_sqlite)
    with engine.connect() as conn:
        tid = conn.scalar(select(clinicians.c.id).where(clinicians.c.username == "therapist1"))
        n_all = conn.scalar(select(func.count()).select_from(patients).where(patients.c.therapist_id == tid))
        n_active = conn.scalar(select(func.count()).select_from(patients).where(
            patients.c.therapist_id == tid, patients.c.status == "active"))
    assert page.get_by_text(f"{n_active} of {n_all} patients").is_visible()
    assert page.get_by_text("Data as of").is_visible()
    screenshot(page, "my-patients-therapist")


def test_wrong_password_is_refused_in_the_browser(app_url, page):
    page.goto(app_url)
    wait_for_app(page)
    log_in(page, "therapist1", "wrong")
    assert page.get_by_text("Username or password is incorrect.").is_visible()
    assert not page.get_by_role("heading", name="Triage").is_visible()


def test_narrow_window_and_long_names(app_url, browser):
    context = browser.new_context(viewport={"width": 420, "height": 900})
    page = context.new_page()
    page.goto(app_url)
    wait_for_app(page)
    log_in(page, "gp2", "caseboard-demo")
    page.get_by_role("heading", name="My patients").wait_for(timeout=30_000)
    screenshot(page, "my-patients-gp-narrow")
    context.close()


def first_listed_code(demo_sqlite: str, username: str) -> str:
    from dashboard.patient_list import my_patients
    from dashboard.scope import load_viewer
    from dashboard.timeutil import utcnow

    engine = make_engine(demo_sqlite)
    frame = my_patients(engine, load_viewer(engine, username), utcnow())
    return frame[frame["status"] == "active"]["code"].iloc[0]


def test_open_patient_by_selecting_a_row_and_reload(app_url, page, demo_sqlite):
    page.goto(f"{app_url}/patients")
    wait_for_app(page)
    log_in(page, "therapist1", "caseboard-demo")
    page.get_by_role("heading", name="My patients").wait_for(timeout=30_000)
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 38 + 17)  # the first row's selection cell
    wait_for_app(page)
    code = first_listed_code(demo_sqlite, "therapist1")
    page.get_by_role("heading", name=code).wait_for(timeout=30_000)
    assert f"patient={code}" in page.url
    screenshot(page, "patient-page")
    page.reload()
    wait_for_app(page)
    page.get_by_role("heading", name=code).wait_for(timeout=30_000)  # the cookie logs in again; the page stays


def test_deep_link_before_login_is_followed_after_login(app_url, browser, demo_sqlite):
    code = first_listed_code(demo_sqlite, "gp1")
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{app_url}/patient?patient={code}")
    wait_for_app(page)
    assert page.get_by_role("textbox", name="Username").is_visible()
    log_in(page, "gp1", "caseboard-demo")
    page.get_by_role("heading", name=code).wait_for(timeout=30_000)
    assert "Symptom trajectories" in page.content()
    context.close()


def test_deep_link_outside_scope_is_denied(app_url, page, demo_sqlite):
    other = first_listed_code(demo_sqlite, "therapist2")
    page.goto(f"{app_url}/patient?patient={other}")
    wait_for_app(page)
    log_in(page, "therapist1", "caseboard-demo")
    page.get_by_text("No such patient in your caseload.").wait_for(timeout=30_000)
