"""The GP's consultation agenda in headless Chromium: a GP opens it from the due list,
downloads the printable page and prints it offline, then logs the follow-up with the
agreement the agenda prefilled; on a phone, the agenda is on the patient page."""

import json
import re
from zoneinfo import ZoneInfo

import pytest

from dashboard import audit
from dashboard.clinician_records import current_followups
from dashboard.config import DEMO_TIMEZONE, Settings
from dashboard.engine import make_engine
from dashboard.followups_due import due_list
from dashboard.scope import load_viewer
from dashboard.timeutil import utcnow
from tests.browser import demo_database, logged_in_page, screenshot, served_demo, wait_for_app
from tests.test_browser import select_first_row

pytestmark = pytest.mark.browser

AGREED = "Keep the activity plan <b>daily</b>; meet again after module 5"


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    return demo_database(tmp_path_factory.mktemp("agenda"))


@pytest.fixture(scope="module")
def app_url(demo_sqlite):
    with served_demo(demo_sqlite) as url:
        yield url


def test_gp_prints_the_agenda_then_logs_the_follow_up_with_the_agreement(app_url, browser, demo_sqlite, tmp_path):
    engine = make_engine(demo_sqlite)
    gp = load_viewer(engine, "gp1")
    due = due_list(engine, engine, gp, utcnow(), Settings(), ZoneInfo(DEMO_TIMEZONE)).due
    code, pid = due["code"].iloc[0], int(due["patient_id"].iloc[0])
    page = logged_in_page(browser, app_url, 1400, "gp1", "Follow-ups due")
    select_first_row(page, 0)
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Modules completed since").wait_for(timeout=30_000)
    screenshot(page, "agenda-dialog-1400")

    agreed = dialog.get_by_role("textbox", name="What we agreed")
    agreed.fill(AGREED)
    agreed.press("Tab")  # leaving the field sends it: the form's note is prefilled
    wait_for_app(page)
    note = dialog.get_by_role("textbox", name="Note (optional)")
    assert note.input_value() == AGREED

    with page.expect_download() as download:
        dialog.get_by_role("button", name="Printable agenda (HTML)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    html = path.read_text()
    assert f"Consultation agenda · {code}" in html and "Keep the activity plan &lt;b&gt;daily&lt;/b&gt;" in html
    wait_for_app(page)
    exported = audit.read(engine, actor="gp1")
    exported = exported[exported["action"] == "export"]
    mine = exported[exported["detail"].map(lambda d: json.loads(d).get("what")) == "consultation_agenda"]
    assert list(mine["patient_id"].astype(int)) == [pid]

    # The page prints offline: nothing but the file loads, and it prints to one page.
    offline = browser.new_context(viewport={"width": 900, "height": 1200}, offline=True)
    requested: list[str] = []
    offline.route("**/*", lambda route: (requested.append(route.request.url), route.continue_()))
    printed = offline.new_page()
    printed.goto(path.as_uri())
    printed.get_by_role("heading", name="What we agreed").wait_for()
    assert [u for u in requested if not u.startswith("file:")] == []
    screenshot(printed, "agenda-printable")
    pdf = printed.pdf(format="A4")  # what "Print" makes of it
    assert pdf.startswith(b"%PDF") and len(pdf) > 5000
    offline.close()

    dialog.get_by_role("button", name="Save follow-up").click()
    wait_for_app(page)
    page.get_by_text(f"Follow-up for {code} saved.").wait_for(timeout=30_000)
    saved = current_followups(engine, [pid])
    assert saved.iloc[0]["note"] == AGREED and saved.iloc[0]["gp"] == "gp1"
    page.context.close()


def test_on_a_phone_the_agenda_is_on_the_patient_page(app_url, browser, demo_sqlite):
    engine = make_engine(demo_sqlite)
    due = due_list(engine, engine, load_viewer(engine, "gp2"), utcnow(), Settings(), ZoneInfo(DEMO_TIMEZONE)).due
    code = due["code"].iloc[0]
    page = logged_in_page(
        browser, f"{app_url}/patient?patient={code}", 390, "gp2", re.compile(f"^{re.escape(code)}"), height=844
    )
    page.get_by_text("Consultation agenda").click()
    page.get_by_text("Modules completed since").wait_for(timeout=30_000)
    wait_for_app(page)
    page.get_by_text("Modules completed since").scroll_into_view_if_needed()
    overflow = page.evaluate(
        "() => [...document.querySelectorAll('[data-testid=stExpanderDetails] *')]"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1).length"
    )
    assert overflow == 0  # nothing of the agenda runs off a phone's screen
    screenshot(page, "agenda-patient-390")
    page.context.close()
