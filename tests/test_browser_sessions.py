"""Sessions in headless Chromium: the idle clock survives a reload, an unattended
page blanks itself, a logged-out token logs in nowhere, a crafted cookie gets the
login form (README, Sessions; hazard log H-SESSION)."""

from datetime import timedelta

import jwt
import pytest
from sqlalchemy import select, update

from dashboard import audit
from dashboard.auth import load_auth_file
from dashboard.config import DEMO_AUTH_FILE
from dashboard.engine import make_engine
from dashboard.state_tables import sessions as sessions_table
from dashboard.timeutil import utcnow
from tests.browser import demo_database, log_in, open_logged_in, served_demo, wait_for_app
from tests.test_auth import unsigned

pytestmark = pytest.mark.browser
IDLE = 15
DEMO = load_auth_file(DEMO_AUTH_FILE)


@pytest.fixture(scope="module")
def demo_sqlite(tmp_path_factory) -> str:
    return demo_database(tmp_path_factory.mktemp("sessions"), patients=120)


@pytest.fixture(scope="module")
def app_url(demo_sqlite):
    """The idle watch asks every second, so a test waits about a second for the blank."""
    with served_demo(demo_sqlite, DASHBOARD_SETTINGS="idle_check_seconds = 1") as url:
        yield url


def new_page(browser, cookie: str | None = None, url: str | None = None):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    if cookie is not None:
        context.add_cookies([{"name": DEMO.cookie_name, "value": cookie, "url": url}])
    return context, context.new_page()


def session_of(url: str, username: str):
    with make_engine(url).connect() as conn:
        return conn.execute(
            select(sessions_table)
            .where(sessions_table.c.username == username)
            .order_by(sessions_table.c.created_at.desc())
        ).first()


def set_last_action(url: str, session_id: str, minutes_ago: float) -> None:
    with make_engine(url).begin() as conn:
        conn.execute(
            update(sessions_table)
            .where(sessions_table.c.session_id == session_id)
            .values(last_action_at=utcnow() - timedelta(minutes=minutes_ago))
        )


def login_cookie(context) -> str:
    return next(c["value"] for c in context.cookies() if c["name"] == DEMO.cookie_name)


def test_a_reload_keeps_the_idle_clock(app_url, browser, demo_sqlite):
    context, page = new_page(browser)
    open_logged_in(page, app_url, "therapist1", "Triage")
    record = session_of(demo_sqlite, "therapist1")
    set_last_action(demo_sqlite, record.session_id, IDLE - 1)
    page.reload()
    wait_for_app(page)
    page.get_by_role("heading", name="Triage").wait_for(timeout=30_000)  # within the window: still logged in
    after = session_of(demo_sqlite, "therapist1")
    assert after.session_id == record.session_id and after.revoked_at is None
    assert utcnow() - after.last_action_at >= timedelta(minutes=IDLE - 1)  # the reload did not restart the clock
    set_last_action(demo_sqlite, record.session_id, IDLE + 1)
    page.reload()
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    context.close()


# The most idle notices on screen at any moment, counted on every change to the page.
COUNT_NOTICES = """() => {
  window.mostNotices = 0;
  const count = () => {
    const shown = [...document.querySelectorAll("[data-testid='stAlert']")]
      .filter((alert) => alert.innerText.includes("without activity")).length;
    window.mostNotices = Math.max(window.mostNotices, shown);
  };
  new MutationObserver(count).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_an_unattended_page_blanks_itself_after_the_idle_timeout(app_url, browser, demo_sqlite):
    context, page = new_page(browser)
    open_logged_in(page, f"{app_url}/patients", "gp1", "My patients")
    page.evaluate(COUNT_NOTICES)
    set_last_action(demo_sqlite, session_of(demo_sqlite, "gp1").session_id, IDLE + 1)
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)  # no click, no reload
    wait_for_app(page)  # the run drawing the form has ended: what it replaced is gone
    assert not page.get_by_role("heading", name="My patients").is_visible()
    page.get_by_text("logged out after 15 minutes without activity").wait_for(timeout=30_000)
    assert page.evaluate("window.mostNotices") == 1  # never two at once while the runs after it settle
    trail = audit.read(make_engine(demo_sqlite), actor="gp1")
    assert trail["action"].iloc[0] == "logout" and "idle" in trail["detail"].iloc[0]
    context.close()


def test_a_logged_out_token_logs_in_nowhere(app_url, browser):
    context, page = new_page(browser)
    open_logged_in(page, app_url, "lead1", "Caseload")
    token = login_cookie(context)
    replay, other = new_page(browser, token, app_url)  # the same token in another browser: logged in...
    other.goto(app_url)
    wait_for_app(other)
    other.get_by_role("heading", name="Caseload").wait_for(
        timeout=90_000
    )  # the lead's heaviest page, on a busy machine
    replay.close()
    page.get_by_role("button", name="Log out").click()
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    page.wait_for_function(f"() => !document.cookie.includes('{DEMO.cookie_name}=')", timeout=30_000)  # deleted too
    context.close()
    replay, other = new_page(browser, token, app_url)  # ...until the logout revoked its session
    other.goto(app_url)
    wait_for_app(other)
    other.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    assert not other.get_by_role("heading", name="Caseload").is_visible()
    replay.close()


FAR = 4102444800  # 2100-01-01


@pytest.mark.parametrize(
    "token",
    [
        unsigned({"sub": "therapist1", "sid": "x", "exp": FAR}),
        jwt.encode({"sub": "therapist1", "sid": "x", "exp": 1}, DEMO.cookie_key, algorithm="HS256"),
        jwt.encode({"sub": "therapist1", "sid": "x", "exp": "tomorrow"}, DEMO.cookie_key, algorithm="HS256"),
        jwt.encode({"username": "therapist1", "exp_date": "soon"}, DEMO.cookie_key, algorithm="HS256"),
    ],
    ids=["alg-none", "expired", "text-expiry", "library-format"],
)
def test_a_crafted_cookie_gets_the_login_form_and_is_cleared(app_url, browser, token):
    context, page = new_page(browser, token, app_url)
    page.goto(app_url)
    wait_for_app(page)
    page.get_by_role("textbox", name="Username").wait_for(timeout=30_000)
    assert not page.locator("[data-testid='stException']").count()
    page.wait_for_function(f"() => !document.cookie.includes('{DEMO.cookie_name}=')", timeout=30_000)
    log_in(page, "therapist2", "caseboard-demo")  # and the form works
    page.get_by_role("heading", name="Triage").wait_for(timeout=30_000)
    context.close()
