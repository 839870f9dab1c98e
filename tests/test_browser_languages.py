"""Languages in headless Chromium: a therapist's choice of Swedish in the sidebar
outlives a reload (it is kept for the login in the state database, README, Languages)."""

import pytest

from dashboard import db, demo
from dashboard.engine import make_engine
from tests.browser import logged_in_page, served_app, wait_for_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('languages')}/demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine, patients=60)
    db.upgrade(engine)
    with served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo"}) as app:
        yield app


def test_a_therapist_switches_to_swedish_reloads_and_still_reads_swedish(browser, app_url):
    page = logged_in_page(browser, app_url, 1400, "therapist1", "Triage")
    try:
        sidebar = page.get_by_test_id("stSidebar")
        assert sidebar.get_by_role("button", name="Log out").is_visible()
        sidebar.get_by_role("combobox", name="Language").click()
        page.get_by_role("option", name="Svenska").click()
        wait_for_app(page)
        sidebar.get_by_role("button", name="Logga ut").wait_for(timeout=30_000)
        assert sidebar.get_by_role("link", name="Mina patienter").is_visible()  # the menu
        page.reload()
        wait_for_app(page)
        sidebar.get_by_role("button", name="Logga ut").wait_for(timeout=30_000)
        assert sidebar.get_by_role("link", name="Mina patienter").is_visible()
        assert sidebar.get_by_text("Behandlare").is_visible()  # the role under the name
        assert sidebar.get_by_role("combobox", name="Språk").is_visible()
    finally:
        page.context.close()
