"""The peer supporter in headless Chromium (issue 20): peer1 logs in to "Who to contact
today", opens a patient's reasons from the list, marks them handled, and the patient
leaves their list while the therapist's reasons stay open. Screenshots at 1400 and 390 px."""

import pandas as pd
import pytest
from playwright.sync_api import expect

from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.peer_support import contact_list
from dashboard.scope import load_viewer
from dashboard.timeutil import utcnow
from dashboard.triage import triage
from tests.browser import demo_database, logged_in_page, screenshot, served_demo, wait_for_app

pytestmark = pytest.mark.browser
HEADING = "Who to contact today"


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    return demo_database(tmp_path_factory.mktemp("peer"))


@pytest.fixture(scope="module")
def app_url(demo_sqlite):
    with served_demo(demo_sqlite) as url:
        yield url


def test_the_supporter_logs_in_sees_their_list_and_marks_a_patient_handled(app_url, browser, demo_sqlite):
    page = logged_in_page(browser, app_url, 1400, "peer1", HEADING)
    before = int(page.get_by_text("patients to contact").inner_text().split()[0])
    assert before >= 1
    screenshot(page, "contact-peer")
    grid = page.locator("[data-testid='stDataFrame']").first
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 12, box["y"] + 38 + 17)  # the first row's selection cell
    wait_for_app(page)
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Mark selected handled").wait_for(timeout=30_000)
    code = dialog.locator("[data-testid='stHeading'] h3").first.inner_text()
    boxes = dialog.get_by_role("checkbox")
    for i in range(boxes.count()):
        expect(boxes.nth(i)).to_be_checked()  # engagement reasons start ticked
    screenshot(page, "contact-peer-dialog")
    dialog.get_by_role("button", name="Mark selected handled").click()
    wait_for_app(page)
    page.get_by_text(f"Handled for {code} by you").wait_for(timeout=30_000)
    page.get_by_text(f"{before - 1} patients to contact").wait_for(timeout=30_000)
    page.context.close()

    engine = make_engine(demo_sqlite)
    acked = pd.read_sql_table("dash_acknowledgements", engine)
    mine = acked[acked["actor"] == "peer1"]
    assert set(mine["role"]) == {"peer_supporter"} and mine["patient_id"].nunique() == 1
    now, settings = utcnow(), Settings()
    assert code not in set(
        contact_list(engine, engine, load_viewer(engine, "peer1"), now, settings).triage.queue["code"]
    )
    # the therapist's reasons for that patient stay open: a supporter's acknowledgement is never theirs
    pid = int(mine["patient_id"].iloc[0])
    lead = triage(engine, engine, load_viewer(engine, "lead1"), now, settings)
    assert set(mine["flag"]) <= set(lead.open_flags.loc[lead.open_flags["patient_id"] == pid, "flag"])


def test_the_supporter_on_a_phone_and_their_patient_page(app_url, browser):
    page = logged_in_page(browser, app_url, 390, "peer1", HEADING, height=844)
    screenshot(page, "contact-peer-narrow")
    link = page.locator("[data-testid='stPageLink'] a").first
    link.click()
    wait_for_app(page)
    page.get_by_role("heading", name="Module progress").wait_for(timeout=30_000)
    assert "item 9" not in page.content()
    screenshot(page, "patient-peer-narrow")
    page.set_viewport_size({"width": 1400, "height": 900})
    wait_for_app(page)
    screenshot(page, "patient-peer")
    page.context.close()


def test_the_supporter_records_a_concern_with_a_double_click_and_it_is_stored_once(app_url, browser, demo_sqlite):
    page = logged_in_page(browser, app_url, 390, "peer1", HEADING, height=844)
    page.locator("[data-testid='stPageLink'] a").first.click()  # the phone's list links each patient
    wait_for_app(page)
    form = page.locator("[data-testid='stForm']").filter(has=page.get_by_role("button", name="Record the concern"))
    words = "She told me she has been thinking about ending her life this week."
    form.get_by_role("textbox", name="What did the patient tell you?").fill(words)
    form.get_by_role("button", name="Record the concern").dblclick()
    wait_for_app(page)
    page.get_by_text("Concern recorded for").wait_for(timeout=30_000)
    expect(form.get_by_role("textbox", name="What did the patient tell you?")).to_have_value(
        ""
    )  # the next starts empty
    screenshot(page, "patient-peer-concern")
    page.context.close()
    engine = make_engine(demo_sqlite)
    stored = pd.read_sql_table("dash_concerns", engine)
    assert stored["note"].tolist() == [words] and stored["actor"].tolist() == ["peer1"]
    pid = int(stored["patient_id"].iloc[0])
    owner = triage(engine, engine, load_viewer(engine, "lead1"), utcnow(), Settings()).open_flags
    rows = owner[(owner["patient_id"] == pid) & (owner["flag"] == "peer_concern")]
    assert rows["reason"].iloc[0].endswith(words) and rows["priority"].iloc[0] == 1
