"""WCAG 2.1 AA evidence for the served app (docs/accessibility.md).

axe-core, pinned in tests/axe/package-lock.json and installed by scripts/test.sh
(``npm ci --prefix tests/axe``), scans every page in headless Chromium: no
violation of impact serious or critical may remain. Each page's full result goes
to artifacts/axe-<page>.json and the counts by impact to artifacts/axe-summary.json.

Then the main flows are driven by the keyboard alone (Tab, arrow keys,
Shift+Space, Enter and typing; no mouse), checking that the focus is visible.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dashboard import db, demo
from dashboard.config import DEMO_TIMEZONE  # the demo's service zone: the pages' due list
from dashboard.engine import make_engine
from dashboard.gp_followups import current_followups
from dashboard.schema import patients
from tests.browser import (
    ARTIFACTS,
    ROOT,
    log_in,
    screenshot,
    served_app,
    wait_for_app,
)
from tests.conftest import fresh_database_url, missing

pytestmark = pytest.mark.browser

AXE_DIR = ROOT / "tests" / "axe"
AXE_JS = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("critical", "serious")
IMPACTS = ("critical", "serious", "moderate", "minor")
PASSWORD = "caseboard-demo"


def pinned_axe_version() -> str:
    return json.loads((AXE_DIR / "package.json").read_text())["dependencies"]["axe-core"]


def primary_rgb() -> str:
    """The theme's primary colour as getComputedStyle writes it: Streamlit marks a
    focused text field, select box or text area by a border in this colour."""
    hexa = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["theme"]["primaryColor"].lstrip("#")
    r, g, b = (int(hexa[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgb({r}, {g}, {b})"


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> Iterator[str]:
    """A fresh demo of its own: the keyboard flows acknowledge and log follow-ups. SQLite
    only: the pages' DOM does not depend on the backend, and the same journeys run on
    PostgreSQL through nginx in tests/test_deployment.py (the suite's time is CI's limit)."""
    gen = fresh_database_url("sqlite", tmp_path_factory.mktemp("a11y"))
    url = next(gen)
    engine = make_engine(url)
    demo.generate(engine)
    db.upgrade(engine)
    engine.dispose()
    yield url
    gen.close()


@pytest.fixture(scope="module")
def backend_name(demo_url) -> str:
    return make_engine(demo_url).dialect.name


@pytest.fixture(scope="module")
def app_url(demo_url):
    # No queue refresh or idle check during a test: a rerun in the middle of a Tab sequence could move the focus.
    env = {
        "DASHBOARD_DB_URL": demo_url,
        "DASHBOARD_MODE": "demo",
        "DASHBOARD_SETTINGS": "queue_refresh_seconds = 3600\nidle_check_seconds = 3600",
    }
    with served_app(env) as url:
        yield url


@pytest.fixture(scope="module")
def axe_js() -> str:
    if not AXE_JS.exists():
        missing(f"axe-core is not installed in {AXE_DIR} (run: npm ci --prefix tests/axe; scripts/test.sh does)")
    return str(AXE_JS)


@pytest.fixture(scope="module")
def signed_in(browser, app_url) -> Callable:
    """One logged-in page per user for the whole module (each scan then only navigates)."""
    pages: dict[str | None, object] = {}

    def page_for(user: str | None):
        if user not in pages:
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            page.goto(app_url)
            wait_for_app(page)
            if user:
                log_in(page, user, PASSWORD)
            pages[user] = page
        return pages[user]

    yield page_for
    for page in pages.values():
        page.context.close()


@pytest.fixture(scope="module")
def axe_summary(backend_name):
    """Counts per page and impact, written once the module's scans are done (one file per backend)."""
    summary: dict = {"axe_core": pinned_axe_version(), "tags": AXE_TAGS, "backend": backend_name, "pages": {}}
    yield summary
    if summary["pages"]:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"axe-summary-{backend_name}.json").write_text(json.dumps(summary, indent=2))
        print(f"\naxe-core {summary['axe_core']}: violations (rules) by impact {IMPACTS}, then incomplete")
        for name, found in summary["pages"].items():
            print(
                f"  {name:32} {[found['violations'][i] for i in IMPACTS]} {[found['incomplete'][i] for i in IMPACTS]}"
            )


# ---------------------------------------------------------------- data


def patient_in_scope(demo_url: str, username: str) -> str:
    """An active patient on the user's list, for the deep link /patient?patient=CODE."""
    from dashboard.my_patients import my_patients
    from dashboard.scope import load_viewer
    from dashboard.timeutil import utcnow

    engine = make_engine(demo_url)
    frame = my_patients(engine, load_viewer(engine, username), utcnow())
    return frame[frame["status"] == "active"]["code"].iloc[0]


def triage_now(demo_url: str, username: str):
    from dashboard.config import Settings
    from dashboard.scope import load_viewer
    from dashboard.timeutil import utcnow
    from dashboard.triage import triage

    engine = make_engine(demo_url)
    return triage(engine, engine, load_viewer(engine, username), utcnow(), Settings())


def due_now(demo_url: str, username: str):
    from dashboard.config import Settings
    from dashboard.followups_due import due_list
    from dashboard.scope import load_viewer
    from dashboard.timeutil import utcnow

    engine = make_engine(demo_url)
    return due_list(engine, engine, load_viewer(engine, username), utcnow(), Settings(), ZoneInfo(DEMO_TIMEZONE)).due


# ---------------------------------------------------------------- keyboard helpers

FOCUSED = """() => { const e = document.activeElement || document.body;
  return {tag: e.tagName, id: e.id || '', name: (e.getAttribute('aria-label') || e.innerText || '').trim(),
          grid: !!e.closest('[data-testid=stDataFrame]'), expander: !!e.closest('[data-testid=stExpander]')}; }"""

# Streamlit's focus styles: buttons, links and summaries get a box-shadow ring; text
# fields, select boxes and text areas a border in the primary colour on the field's
# root element (the input's parent); a date field's day, month or year a primary background.
FOCUS_INDICATOR = """(primary) => { let e = document.activeElement;
  for (let i = 0; e && e !== document.body && i < 3; i++, e = e.parentElement) {
    const s = getComputedStyle(e);
    if (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) return `outline on ${e.tagName}`;
    if (s.boxShadow && s.boxShadow !== 'none') return `box-shadow on ${e.tagName}`;
    if (s.borderTopColor === primary && parseFloat(s.borderTopWidth) > 0) return `primary border on ${e.tagName}`;
    if (s.backgroundColor === primary) return `primary background on ${e.tagName}`;
  }
  return null; }"""


FIELD = """() => { const e = document.activeElement;
  return {type: (e.type || '').toLowerCase(), checked: !!e.checked}; }"""


def focused(page) -> dict:
    return page.evaluate(FOCUSED)


def tab_to(page, wanted: Callable[[dict], bool], what: str, limit: int = 90) -> dict:
    """Press Tab until the focused element is the wanted one, as a keyboard user does."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if wanted(now):
            return now
        seen.append(f"{now['tag']}:{now['name'][:30]}")
    raise AssertionError(f"Tab never reached {what}; focus went through {seen}")


def named(name: str) -> Callable[[dict], bool]:
    """The element's accessible name (aria-label or text; a button's text may start with its icon's ligature)."""
    return lambda f: f["name"] == name or f["name"].endswith(f"\n{name}")


def in_table(f: dict) -> bool:
    """A cell (or the canvas) of the page's table; not its toolbar, nor a table in an expander."""
    return f["grid"] and not f["expander"] and f["tag"] in ("TD", "CANVAS")


def assert_focus_visible(page, what: str) -> str:
    """The focused element (or its field root) shows an outline, a ring or a primary-colour border."""
    try:
        handle = page.wait_for_function(FOCUS_INDICATOR, arg=primary_rgb(), timeout=3_000)  # styles transition in
    except Exception as exc:  # noqa: BLE001 - report what had focus
        raise AssertionError(f"no visible focus indicator on {what}: {focused(page)}") from exc
    return handle.json_value()


def select_row(page, row: int) -> None:
    """Tab into the page's table, arrow to ``row`` and select it with Shift+Space
    (glide-data-grid's select-row key). The focused cell's id is glide-cell-COLUMN-ROW."""
    tab_to(page, in_table, "the table")
    for _ in range(row + 40):
        at = focused(page)["id"]
        cell = re.fullmatch(r"glide-cell-(\d+)-(\d+)", at)
        if cell and int(cell[2]) == row:
            break
        page.keyboard.press("ArrowUp" if cell and int(cell[2]) > row else "ArrowDown")
        # the grid moves the focus to the new cell on its next frame
        page.wait_for_function("before => document.activeElement.id !== before", arg=at, timeout=5_000)
    else:
        raise AssertionError(f"arrow keys never reached row {row}: {focused(page)}")
    page.keyboard.press("Shift+Space")
    wait_for_app(page)


def keyboard_log_in(page, username: str) -> None:
    tab_to(page, named("Username"), "the username field")
    assert_focus_visible(page, "the username field")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "Password"
    assert_focus_visible(page, "the password field")
    page.keyboard.type(PASSWORD)
    tab_to(page, named("Login"), "the Login button")
    assert_focus_visible(page, "the Login button")
    page.keyboard.press("Enter")
    wait_for_app(page)


@contextmanager
def keyboard_session(browser, app_url: str, username: str) -> Iterator:
    """A fresh browser context, logged in by keyboard alone; closed afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(app_url)
    wait_for_app(page)
    keyboard_log_in(page, username)
    try:
        yield page
    finally:
        context.close()


# ---------------------------------------------------------------- axe


def open_expanders(page) -> None:
    """Scan what the expanders hold too (tables, the drop-out charts, the follow-up form)."""
    closed = page.locator("[data-testid='stExpander'] details:not([open]) > summary")
    for _ in range(closed.count()):
        closed.first.click()
    wait_for_app(page)


def open_followup_form(page) -> None:
    select_row(page, 0)
    page.get_by_text(re.compile(r"^Log a follow-up for ")).wait_for(timeout=30_000)


def open_acknowledge_forms(page) -> None:
    select_row(page, 0)
    page.get_by_role("dialog").locator("[data-testid='stForm']").first.wait_for(timeout=30_000)


# (artifact name, user, path; {code} is an active patient of that user, what to open before the scan)
PAGES = [
    ("login", None, "/", None),
    ("triage-therapist1", "therapist1", "/", None),
    ("triage-acknowledge-therapist1", "therapist1", "/", open_acknowledge_forms),
    ("my-patients-therapist1", "therapist1", "/patients", None),
    ("patient-therapist1", "therapist1", "/patient?patient={code}", open_expanders),
    ("my-patients-gp1", "gp1", "/patients", None),
    ("followups-gp1", "gp1", "/", None),
    ("followups-form-gp1", "gp1", "/", open_followup_form),
    ("patient-gp1", "gp1", "/patient?patient={code}", open_expanders),
    ("caseload-lead1", "lead1", "/", open_expanders),
    ("triage-lead1", "lead1", "/triage", None),
    ("audit-lead1", "lead1", "/audit", None),
    ("contact-peer1", "peer1", "/", None),
    ("patient-peer1", "peer1", "/patient?patient={code}", open_expanders),
]


def run_axe(page, axe_js: str) -> dict:
    page.add_script_tag(path=axe_js)
    return page.evaluate("tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)


def counts(results: list[dict], nodes: bool = False) -> dict[str, int]:
    return {
        impact: sum(len(r["nodes"]) if nodes else 1 for r in results if r["impact"] == impact) for impact in IMPACTS
    }


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} ({len(v['nodes'])}x), e.g. {v['nodes'][0]['target']} "
        f"{v['nodes'][0]['html'][:200]}"
        for v in violations
    )


@pytest.mark.parametrize("name, user, path, prepare", PAGES, ids=[p[0] for p in PAGES])
def test_no_serious_or_critical_axe_violations(
    name, user, path, prepare, signed_in, app_url, demo_url, axe_js, axe_summary, backend_name
):
    page = signed_in(user)
    page.goto(app_url + path.format(code=patient_in_scope(demo_url, user) if "{code}" in path else ""))
    wait_for_app(page)
    assert page.locator("[data-testid='stException']").count() == 0
    if prepare:
        prepare(page)
    result = run_axe(page, axe_js)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"axe-{name}-{backend_name}.json").write_text(json.dumps(result, indent=1))
    assert result["testEngine"]["version"] == pinned_axe_version(), "tests/axe/node_modules is stale: npm ci"
    axe_summary["pages"][name] = {
        "violations": counts(result["violations"]),
        "violation_nodes": counts(result["violations"], nodes=True),
        "incomplete": counts(result["incomplete"]),
        "passes": len(result["passes"]),
    }
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    if blocking:
        screenshot(page, f"axe-{name}")
    assert not blocking, (
        f"{name}: axe found\n{describe(blocking)}\n(full result: artifacts/axe-{name}-{backend_name}.json)"
    )


# ---------------------------------------------------------------- keyboard only


def fewest_reasons_row(result) -> int:
    """The queue row whose patient has the fewest open reasons (one checkbox each)."""
    kinds = result.open_flags.groupby("patient_id")["flag"].nunique()
    per_row = [int(kinds.get(pid, 0)) for pid in result.queue["patient_id"]]
    return per_row.index(min(per_row))


def test_therapist_logs_in_and_acknowledges_by_keyboard_alone(browser, app_url, demo_url):
    from playwright.sync_api import expect

    with keyboard_session(browser, app_url, "therapist1") as page:
        page.get_by_role("heading", name="Triage").wait_for(timeout=30_000)
        waiting = int(page.get_by_text("patients need you").inner_text().split()[0])

        # The patient is read from the page (the list may be up to cache_ttl_seconds old).
        select_row(page, fewest_reasons_row(triage_now(demo_url, "therapist1")))
        dialog = page.get_by_role("dialog")
        submit = dialog.get_by_role("button", name="Mark selected handled")
        submit.wait_for(timeout=30_000)
        assert page.evaluate("() => !!document.activeElement.closest('[role=dialog]')"), "the focus stayed behind"
        code = dialog.locator("[data-testid='stHeading'] h3").first.inner_text()
        screenshot(page, "keyboard-triage-selected")
        # Every reason of this patient in one action, by keyboard: Space ticks what is not
        # ticked (a risk answer never is), the notes are typed, Enter submits.
        for _ in range(40):
            page.keyboard.press("Tab")
            now = page.evaluate(FIELD)
            if now["type"] == "checkbox" and not now["checked"]:
                page.keyboard.press("Space")
            elif now["type"] == "textarea":
                assert_focus_visible(page, "the note field")
                page.keyboard.type("Phoned the patient; agreed next steps.")
            elif named("Mark selected handled")(focused(page)):
                assert_focus_visible(page, "the Mark selected handled button")
                page.keyboard.press("Enter")
                break
        else:
            raise AssertionError("Tab never reached Mark selected handled")
        wait_for_app(page)
        page.get_by_text(f"Handled for {code} by you").wait_for(timeout=30_000)
        expect(page.get_by_role("dialog")).to_have_count(0)
        page.get_by_text(f"{waiting - 1} patients need you").wait_for(timeout=30_000)
        screenshot(page, "keyboard-triage-handled")
        assert code not in set(triage_now(demo_url, "therapist1").queue["code"])


def test_gp_logs_a_follow_up_by_keyboard_alone(browser, app_url, demo_url):
    from playwright.sync_api import expect

    with keyboard_session(browser, app_url, "gp1") as page:
        page.get_by_role("heading", name="Follow-ups due").wait_for(timeout=30_000)
        wait_for_app(page)  # the heading is drawn before the table it heads (CI tabbed through a page without it)

        before = due_now(demo_url, "gp1")
        select_row(page, int((before["status"] == "active").to_numpy().argmax()))  # an active patient, a few rows down
        title = page.get_by_text(re.compile(r"^Log a follow-up for "))
        title.wait_for(timeout=30_000)
        code = title.inner_text().removeprefix("Log a follow-up for ")  # read from the page: its list may be cached
        assert code in set(before["code"])
        action = tab_to(page, named("Action"), "the Action select box")
        assert_focus_visible(page, "the Action select box")
        page.keyboard.type("Step up")  # filters the options; Enter takes the highlighted one
        page.keyboard.press("Enter")
        expect(page.get_by_role("combobox", name="Action")).to_have_value("Step up care")
        assert action["tag"] == "INPUT"
        tab_to(page, named("Note (optional)"), "the note field")
        assert_focus_visible(page, "the note field")
        page.keyboard.type("Low mood despite module 3; please call this week.")
        tab_to(page, named("Save follow-up"), "Save follow-up", limit=5)
        assert_focus_visible(page, "the Save follow-up button")
        screenshot(page, "keyboard-followup-filled")
        page.keyboard.press("Enter")
        wait_for_app(page)
        page.get_by_text(f"Follow-up for {code} saved.").wait_for(timeout=30_000)
        screenshot(page, "keyboard-followup-saved")
        after = due_now(demo_url, "gp1")
        assert code not in set(after["code"]) and len(after) == len(before) - 1
        engine = make_engine(demo_url)
        with engine.connect() as conn:
            pid = conn.scalar(select(patients.c.id).where(patients.c.code == code))
        logged = current_followups(engine, [pid])
        assert logged["action"].tolist() == ["step_up"] and "please call" in logged["note"].iloc[0]


def test_pages_are_reached_from_the_sidebar_by_keyboard_with_visible_focus(browser, app_url):
    with keyboard_session(browser, app_url, "therapist1") as page:
        page.get_by_role("heading", name="Triage").wait_for(timeout=30_000)
        tab_to(page, named("My patients"), "the sidebar's My patients link")
        assert_focus_visible(page, "the sidebar's My patients link")
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="My patients").wait_for(timeout=30_000)
        wait_for_app(page)
        tab_to(page, named("Triage"), "the sidebar's Triage link (the way back)")
        assert_focus_visible(page, "the sidebar's Triage link")
