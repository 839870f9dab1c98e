"""Running the app in AppTest as a logged-in clinician (login itself is tested in test_app.py)."""

from streamlit.testing.v1 import AppTest

from dashboard.nav import PAGES_DIR

APP = "../dashboard/app.py"  # relative to the test files


def logged_in(username: str) -> AppTest:
    """The app after a successful login, skipping the form (streamlit-notes.md, AppTest)."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    at.session_state["roles"] = None
    at.run()
    assert not at.exception, at.exception
    return at


def open_patient(username: str, code: str | None) -> AppTest:
    at = logged_in(username)
    if code is not None:
        at.query_params["patient"] = code
    at.switch_page(str(PAGES_DIR / "patient.py"))
    at.run()
    assert not at.exception, at.exception
    return at
