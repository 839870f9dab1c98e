"""The columns that matter are on screen: safety columns whole at 1400 and 1024 px, and
a compact list instead of the wide table in a phone-sized window (issue 16, item 3).

Widths come from the grid as drawn (tests/datagrid.py), not from the page's config."""

import pytest
from sqlalchemy import select

from dashboard.engine import make_engine
from dashboard.schema import clinicians, patients
from tests.browser import demo_database, logged_in_page, screenshot, served_demo, wait_for_app
from tests.datagrid import grid_with

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    return demo_database(tmp_path_factory.mktemp("columns"))


@pytest.fixture(scope="module")
def app_url(demo_sqlite):
    with served_demo(demo_sqlite) as url:
        yield url


def a_patient_of(demo_sqlite: str, username: str) -> str:
    with make_engine(demo_sqlite).connect() as conn:
        therapist = select(clinicians.c.id).where(clinicians.c.username == username).scalar_subquery()
        return conn.scalar(
            select(patients.c.code)
            .where(patients.c.therapist_id == therapist, patients.c.status == "active")
            .order_by(patients.c.code)
        )


# (user, page, a column naming the table, the safety columns, those whose values must fit whole)
SAFETY = [
    ("therapist1", "triage", "Why", ["Patient", "Escalated", "Waiting"], ("Escalated", "Waiting")),
    ("therapist1", "patients", "Flags", ["Patient", "Flags", "Status"], ("Status",)),
    ("lead1", "triage", "Therapist", ["Patient", "Escalated", "Waiting"], ("Escalated", "Waiting")),
    ("lead1", "caseload", "Open items", ["Therapist", "Open items"], ()),
    ("lead1", "caseload", "Reliable deterioration", ["Reliable deterioration"], ("Reliable deterioration",)),
    ("lead1", "caseload", "Overdue now", ["GP", "Overdue now"], ("Overdue now",)),
    ("gp1", "followups", "Alerts", ["Patient", "Alerts", "Status"], ("Alerts", "Status")),
    ("gp1", "patients", "Flags", ["Patient", "Flags", "Status"], ("Status",)),
]


@pytest.mark.parametrize("width", [1400, 1024])
def test_safety_columns_are_whole_in_view(app_url, browser, demo_sqlite, width):
    problems = []
    for user in dict.fromkeys(u for u, *_ in SAFETY):
        pages = [p for u, p, *_ in SAFETY if u == user]
        page = logged_in_page(browser, f"{app_url}/{pages[0]}", width, user)
        for path in dict.fromkeys(pages):
            if path != pages[0]:
                page.get_by_role("link", name={"patients": "My patients"}.get(path, path.capitalize())).click()
                wait_for_app(page)
            page.get_by_role("heading").first.wait_for(timeout=30_000)
            wait_for_app(page)
            page.wait_for_timeout(500)  # the grid sizes its columns after its first paint
            screenshot(page, f"columns-{user}-{path}-{width}")
            for _u, _p, anchor, safety, whole in (s for s in SAFETY if s[:2] == (user, path)):
                problems += [f"{user} {path}: {p}" for p in grid_with(page, anchor).problems(safety, whole)]
            if path == "caseload" and width == 1400:  # the workload table was 1,678 px in a 938 px window
                workload = grid_with(page, "Open items")
                problems += [f"workload: {c.title!r} cut" for c in workload.columns if not workload.in_view(c.title)]
        page.context.close()
    assert not problems, problems


@pytest.mark.parametrize("width", [1400, 1024])
def test_patient_page_outcomes_keep_status_and_reliable_change_in_view(app_url, browser, demo_sqlite, width):
    code = a_patient_of(demo_sqlite, "therapist1")
    page = logged_in_page(browser, f"{app_url}/patient?patient={code}", width, "therapist1", code)
    page.wait_for_timeout(500)
    assert not grid_with(page, "Reliable change").problems(["Measure", "Status", "Reliable change"])
    page.context.close()


def test_phone_shows_the_compact_list_and_a_code_opens_the_patient(app_url, browser):
    page = logged_in_page(browser, f"{app_url}/triage", 390, "therapist1", "Triage", height=844)
    compact, wide = page.locator(".st-key-compact_list_triage"), page.locator(".st-key-wide_table_triage")
    compact.wait_for(state="visible", timeout=30_000)
    assert not wide.is_visible()
    assert not page.locator("[data-testid='stDataFrame']").filter(visible=True).count()
    screenshot(page, "columns-triage-390")
    first = compact.get_by_role("link").first
    code = first.inner_text().splitlines()[-1].split(" · ")[0].strip()  # after the icon's name
    first.click()
    wait_for_app(page)
    page.get_by_role("heading", name=code).wait_for(timeout=30_000)
    wait_for_app(page)  # the heading comes before the rest of the run
    assert f"patient={code}" in page.url
    page.context.close()


def test_gp_phone_list_says_due_and_alerts(app_url, browser):
    page = logged_in_page(browser, f"{app_url}/followups", 390, "gp1", "Follow-ups due", height=844)
    compact = page.locator(".st-key-compact_list_due")
    compact.wait_for(state="visible", timeout=30_000)
    assert not page.locator(".st-key-wide_table_due").is_visible()
    assert "due " in compact.get_by_role("link").first.inner_text()
    screenshot(page, "columns-followups-390")
    page.context.close()


def test_wide_window_shows_the_table_not_the_list(app_url, browser):
    page = logged_in_page(browser, f"{app_url}/patients", 1400, "therapist1", "My patients")
    page.locator(".st-key-wide_table_patients").wait_for(state="visible", timeout=30_000)
    assert page.locator(".st-key-compact_list_patients").count() == 1  # sent, but not shown
    assert not page.locator(".st-key-compact_list_patients").is_visible()
    assert page.locator("[data-testid='stDataFrame']").filter(visible=True).count() >= 1
    page.context.close()


def test_phone_lists_have_no_serious_axe_violations(app_url, browser):
    from tests.conftest import missing
    from tests.test_accessibility import AXE_JS, BLOCKING, describe, run_axe

    if not AXE_JS.exists():
        missing("axe-core is not installed in tests/axe (run: npm ci --prefix tests/axe)")
    page = logged_in_page(browser, f"{app_url}/patients", 390, "therapist1", "My patients", height=844)
    page.locator(".st-key-compact_list_patients").wait_for(state="visible", timeout=30_000)
    blocking = [v for v in run_axe(page, str(AXE_JS))["violations"] if v["impact"] in BLOCKING]
    assert not blocking, describe(blocking)
    page.context.close()
