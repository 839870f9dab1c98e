"""Running the app in AppTest as a logged-in clinician (login itself is tested in test_app.py)."""

from streamlit.testing.v1 import AppTest

from dashboard import sessions
from dashboard.auth import normalise_username
from dashboard.config import load_config
from dashboard.engine import make_engine
from dashboard.ui.nav import PAGES_DIR

APP = "../dashboard/ui/app.py"  # relative to the test files


def start_session(username: str) -> str:
    """A live session record for ``username`` in the configured state database, as a
    successful login makes one (the login form itself is tested in test_app.py)."""
    state = make_engine(load_config().state_db_url)
    try:
        return sessions.start_session(state, normalise_username(username))
    finally:
        state.dispose()


def logged_in(username: str) -> AppTest:
    """The app after a successful login, skipping the form: this browser session
    holds a live session record's id, as the login form leaves it."""
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[sessions.SESSION_KEY] = start_session(username)
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


def table_with(at: AppTest, *columns: str):
    """The first table showing all these columns (tables are found by content, not
    position: the data-quality note may add its own table above a page's list)."""
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def shown_text(at: AppTest) -> str:
    """Everything a page shows in words and tables, to search for patient codes."""
    parts = [d.value.to_csv() for d in at.dataframe]
    parts += [
        e.value
        for kind in ("markdown", "caption", "title", "subheader", "error", "warning", "info", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def table_state_key(at: AppTest, prefix: str) -> str:
    """The widget key of a selectable table (``triage_table_``, ``due_table_``): it
    carries its data's version (dashboard.ui.session.table_key), so tests find it."""
    return next(k for k in at.session_state.keys() if k.startswith(prefix))


def choose_row(at: AppTest, prefix: str, index: int) -> AppTest:
    """Select row ``index`` of the table whose key starts with ``prefix``, then run."""
    at.session_state[table_state_key(at, prefix)] = {"selection": {"rows": [index], "columns": [], "cells": []}}
    return at.run()
