"""Issue 19, "every page renders a patient who answered every instrument", and "a new
instrument added by file appears everywhere with no code change": a patient who
answered the whole registry plus a service's own scale, on every page of every role
(AppTest, both backends). The patient page's own content for that patient is tested
in test_patient_instruments.py."""

from __future__ import annotations

import json

import pytest

from dashboard import flags, measures, my_patients, patient, response_facts
from dashboard.config import DEFAULTS
from dashboard.instruments import load_registry
from dashboard.ui.nav import PAGES, PAGES_DIR, ROLE_PAGES
from tests.apptest import logged_in, open_patient, shown_text, table_with
from tests.factory import every_instrument_patient

USERS = {"ther.a": "therapist", "gp.a": "gp", "lead.a": "team_lead", "peer.a": "peer_supporter"}
# the pages that list the patient (an unanswered message puts them in every queue)
LISTING = {"triage", "my_patients", "contact"}

SERVICE_FILE = """
[instruments.LOCAL5]
name = "Local wellbeing scale"
source = "a service's own scale (test)"
n_items = 5
item_min = 0
item_max = 4
max_missing_items = 1
bands = [
    { low = 0, high = 9, label = "low" },
    { low = 10, high = 20, label = "high" },
]
caseness = 10
"""


def clear_prepared() -> None:
    """The statements built once per role (dashboard.statements.prepared) hold the
    registry of the moment they were built; a process's registry is fixed at start-up,
    so only a test that swaps it must build them again, before and after."""
    built_once = (
        flags._inputs_statements,
        patient._record_statements,
        my_patients._list_statements,
        response_facts._final_rows,
        response_facts._tail_statement,
    )
    for built in built_once:
        built.cache_clear()


@pytest.fixture
def service_registry(tmp_path, monkeypatch):
    """The shipped registry plus the service file's LOCAL5, as DASHBOARD_INSTRUMENTS gives it."""
    service = tmp_path / "service.toml"
    service.write_text(SERVICE_FILE)
    monkeypatch.setenv("DASHBOARD_INSTRUMENTS", str(service))
    monkeypatch.setattr(measures.INSTRUMENTS, "_registry", load_registry(service, DEFAULTS))
    clear_prepared()
    yield service
    clear_prepared()


@pytest.fixture
def every(app_platform, service_registry):
    """ALL1 answered every shipped instrument and the service's LOCAL5 (15 -> 5), has a
    peer supporter (peer.a) and an unanswered message."""
    pid = every_instrument_patient(app_platform, "ALL1")
    app_platform.response(pid, "LOCAL5", 50, [3] * 5)
    app_platform.response(pid, "LOCAL5", 4, [1] * 5)
    app_platform.care(pid, 11, started_days_ago=60)
    app_platform.message(pid, 1, "from_patient")
    return pid


@pytest.mark.parametrize(
    "user, page", [(user, page) for user, role in sorted(USERS.items()) for page in ROLE_PAGES[role]]
)
def test_every_page_of_every_role_renders_the_patient_who_answered_every_instrument(every, user, page):
    at = logged_in(user)
    at.switch_page(str(PAGES_DIR / PAGES[page][0])).run()
    assert not at.exception, at.exception
    if page in LISTING:
        assert "ALL1" in shown_text(at), f"{page} does not list ALL1 for {user}"


def test_a_service_files_instrument_is_on_the_patient_page_with_its_bands_and_no_code(every):
    at = open_patient("ther.a", "ALL1")
    outcomes = table_with(at, "Measure", "Status").set_index("Measure")
    assert "Local wellbeing scale" in outcomes.index
    row = outcomes.loc["Local wellbeing scale"]
    # the file's own bands and cut-off (caseness 10), and no criterion it did not give
    assert row["Baseline"].startswith("15 (high)") and row["Latest"].startswith("5 (low)")
    assert row["Change"] == "-10" and row["Reliable change"] == "no reliable-change criterion"
    assert row["Status"] == "at or above the cut-off 10 at baseline, below it now"
    specs = [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]
    local = [s for s in specs if isinstance(s.get("title"), dict) and s["title"]["text"] == "Local wellbeing scale"]
    assert len(local) == 1 and "Dashed line: cut-off 10" in local[0]["title"]["subtitle"]


def test_the_peer_supporter_sees_the_service_files_trajectory_but_no_outcome_table(every):
    at = open_patient("peer.a", "ALL1")
    assert not at.exception
    specs = [el.proto.spec for el in at.get("vega_lite_chart")]
    assert any('"Local wellbeing scale"' in s for s in specs)
    assert not [d for d in at.dataframe if "Measure" in d.value.columns]


def test_every_page_in_chromium_with_the_patient_who_answered_every_instrument(
    browser, tmp_path, monkeypatch, service_registry
):
    """The served app (production mode, the service file by DASHBOARD_INSTRUMENTS): each
    role's every page draws without an error, and the lists show the patient."""
    from tests.browser import log_in, served_app, wait_for_app
    from tests.conftest import served_platform

    platform = served_platform(f"sqlite:///{tmp_path}/platform.sqlite", monkeypatch, tmp_path)
    pid = every_instrument_patient(platform, "ALL1")
    platform.response(pid, "LOCAL5", 4, [1] * 5)
    platform.care(pid, 11, started_days_ago=60)
    platform.message(pid, 1, "from_patient")
    with served_app({"DASHBOARD_INSTRUMENTS": str(service_registry)}) as url:
        for user, role in sorted(USERS.items()):
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            try:
                page.goto(url)
                wait_for_app(page)
                log_in(page, user, platform.password)
                for key in ROLE_PAGES[role]:
                    page.goto(f"{url}/{PAGES[key][3]}")
                    wait_for_app(page)
                    page.get_by_role("heading", name=PAGES[key][1]).first.wait_for(timeout=60_000)
                    wait_for_app(page)
                    assert page.locator("[data-testid='stException']").count() == 0, (user, key)
                    if key in LISTING:
                        page.get_by_text("ALL1").first.wait_for(
                            state="attached", timeout=30_000
                        )  # a grid cell (canvas-drawn)
                page.goto(f"{url}/patient?patient=ALL1")
                wait_for_app(page)
                page.get_by_role("heading", name="ALL1").first.wait_for(timeout=60_000)
                wait_for_app(page)
                assert page.locator("[data-testid='stException']").count() == 0, (user, "patient")
            finally:
                page.context.close()
