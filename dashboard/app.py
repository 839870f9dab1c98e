"""Caseboard entry point: ``streamlit run dashboard/app.py``.

Checks configuration and databases, logs the clinician in, then shows only the
pages their role may use (st.navigation). It lives in dashboard/, away from the
top-level pages/ folder, because a pages/ folder beside the entry point turns on
Streamlit's legacy page discovery (../shared/streamlit-notes.md, Navigation).
"""

from __future__ import annotations

import copy
import time
from pathlib import Path

import streamlit as st
import streamlit_authenticator as stauth
from streamlit_authenticator.utilities import LoginError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import audit, faults, logs, sessions, startup
from dashboard.auth import AuthFile, AuthFileError, load_auth_file
from dashboard.config import Config, ConfigError, load_config
from dashboard.context import AppContext, set_context
from dashboard.demo import DEMO_USERS
from dashboard.embedded import ensure_demo_database
from dashboard.engine import make_engine
from dashboard.nav import page_urls, pages_for
from dashboard.scope import Viewer, load_viewer
from dashboard.text import md
from dashboard.timeutil import utcnow

DEMO_PASSWORD = "caseboard-demo"
# Streamlit marks a focused sidebar page link only by a faint background, barely
# visible on the current page's link (WCAG 2.4.7, docs/accessibility.md).
FOCUS_CSS = "<style>[data-testid=stSidebarNavLink]:focus-visible{outline:2px solid #1f5f8b;outline-offset:1px}</style>"
ROLE_NAMES = {"gp": "GP", "therapist": "Therapist", "team_lead": "Team lead"}


@st.cache_resource(show_spinner=False)
def get_engine(url: str, statement_timeout_s: float) -> Engine:
    return make_engine(url, statement_timeout_s)


@st.cache_resource(show_spinner=False)
def get_auth_file(path: str) -> AuthFile:
    """Read once per process; each run hands the authenticator a deep copy,
    because it mutates the credentials it is given."""
    return load_auth_file(Path(path))


def stop_with(title: str, problems: list[str]) -> None:
    st.title("Caseboard cannot start")
    st.error(title)
    for problem in problems:
        st.markdown(f"- {problem}")
    st.stop()


def prepare(config: Config) -> tuple[Engine, Engine]:
    """Engines for the platform and state databases, once checked."""
    timeout = float(config.settings.statement_timeout_seconds)
    platform, state = get_engine(config.db_url, timeout), get_engine(config.state_db_url, timeout)
    if config.uses_embedded_demo and "demo_checked" not in st.session_state:
        with st.spinner("Preparing the demo database with synthetic patients (first start takes a few seconds)…"):
            ensure_demo_database(platform, config.settings.demo_max_age_hours)
        st.session_state["demo_checked"] = True
    problems = startup.prepare_state_database(config, state)
    if problems:
        stop_with("The dashboard's own tables are not at the expected revision.", problems)
    problems = startup.platform_schema_problems(platform)
    if problems:
        stop_with("The platform database does not match the schema Caseboard reads (see README, 'Schema contract').", problems)
    return platform, state


def demo_banner(config: Config) -> None:
    if config.is_demo:
        st.warning("DEMO — synthetic data. No real patients are shown.", icon=":material/science:")


def login_page(authenticator: stauth.Authenticate, credentials: dict, config: Config, state: Engine) -> None:
    _, column, _ = st.columns([1, 2, 1])
    with column:
        st.title("Caseboard")
        st.caption("Guided iCBT: who needs you today, and why.")
        demo_banner(config)
        if st.session_state.pop("idle_logout", False):
            st.info(f"You were logged out after {config.settings.idle_timeout_minutes:g} minutes without activity.")
        before = {u: c.get("failed_login_attempts", 0) for u, c in credentials["usernames"].items()}
        try:
            authenticator.login(location="main", key="login_form", max_login_attempts=int(config.settings.max_failed_logins))
        except LoginError:  # the username has too many recent failures (sessions.recent_failures)
            st.error(f"Too many failed logins for this username. Try again in {config.settings.login_lockout_minutes:g} "
                     "minutes, or ask your administrator.")
            return
        status = st.session_state.get("authentication_status")
        if status:  # the cookie component reruns the app once it has stored the login
            st.success("Logged in. Opening your dashboard…")
        if status is False:
            st.error("Username or password is incorrect.")
            for username, entry in credentials["usernames"].items():  # the library counts the attempt it refused
                if entry.get("failed_login_attempts", 0) > before.get(username, 0):
                    audit.record(state, username, "login_failed")
        if config.is_demo:
            demo_logins()


def demo_logins() -> None:
    rows = "".join(f"| `{user}` | {ROLE_NAMES[role]} | {name} |\n" for user, role, name, _team in DEMO_USERS)
    with st.expander("Demo logins", expanded=True):
        st.markdown(f"Password for every demo user: `{DEMO_PASSWORD}`\n\n| username | role | name |\n|---|---|---|\n{rows}")


def record_logout(state: Engine, username: str) -> None:
    audit.record(state, username, "logout")
    st.session_state.pop("audited_login", None)  # a new login in this browser session is audited again


def sidebar(authenticator: stauth.Authenticate, viewer: Viewer, config: Config, state: Engine) -> None:
    with st.sidebar:
        st.markdown(f"**{md(viewer.display_name)}**  \n{ROLE_NAMES.get(viewer.role, viewer.role)}")
        if config.is_demo:
            st.caption("DEMO — synthetic data")
        authenticator.logout("Log out", location="sidebar", key="sidebar_logout",
                             callback=lambda _: record_logout(state, viewer.username))
    if not st.session_state.get("authentication_status"):
        # Logged out in this run: show nothing more, and let the cookie deletion reach the browser.
        st.info("You have logged out.")
        st.button("Log in again")
        st.stop()


def main() -> None:
    started = time.perf_counter()
    logs.configure()  # once per process; later runs find it configured
    st.set_page_config(page_title="Caseboard", page_icon=":material/clinical_notes:", layout="wide")
    st.html(FOCUS_CSS)  # style only: no space in the page
    try:
        config = load_config()
        auth_file = get_auth_file(str(config.auth_file))
    except (ConfigError, AuthFileError) as exc:
        stop_with("The configuration is not valid.", [str(exc)])
    problems = startup.auth_problems(config, auth_file)
    if problems:
        stop_with("Production mode refuses an insecure set-up.", problems)
    try:
        platform, state = prepare(config)
    except SQLAlchemyError as exc:
        faults.show(exc, config.settings.statement_timeout_seconds)
        st.stop()

    credentials = copy.deepcopy(auth_file.credentials)
    # Failed logins live in the audit table, so the authenticator's per-user limit holds
    # across runs and sessions (its own counter would be lost with this copy).
    # Only a run that may submit the login form needs them: not every page run of a logged-in clinician.
    failures = ({} if st.session_state.get("authentication_status")
                else sessions.recent_failures(state, utcnow(), float(config.settings.login_lockout_minutes)))
    for username, entry in credentials["usernames"].items():
        entry["failed_login_attempts"] = failures.get(username, 0)
    authenticator = stauth.Authenticate(
        credentials, auth_file.cookie_name, auth_file.cookie_key,
        auth_file.expiry_days, auto_hash=False, login_sleep_time=0,
    )
    if st.session_state.get("authentication_status") and sessions.idle_expired(
            st.session_state, float(config.settings.idle_timeout_minutes)):
        audit.record(state, st.session_state["username"], "logout", reason="idle")
        authenticator.logout(location="unrendered")
        st.session_state.pop("audited_login", None)
        st.session_state["idle_logout"] = True
    if not st.session_state.get("authentication_status"):
        # Every page URL (a bookmark, a deep link /patient?patient=CODE) shows the login
        # form at its own address; after login the real page is registered there, so
        # the link is followed as opened, query parameters included.
        def show_login() -> None:
            login_page(authenticator, credentials, config, state)

        st.navigation([st.Page(show_login, title="Log in", url_path="login", default=True),
                       *(st.Page(show_login, title="Log in", url_path=path, visibility="hidden") for path in page_urls())],
                      position="hidden").run()
        return

    try:
        clinician_pages(authenticator, config, platform, state, started)
    except SQLAlchemyError as exc:  # lost mid-session or stopped at its time limit: a banner, never a traceback
        faults.show(exc, config.settings.statement_timeout_seconds)


def clinician_pages(authenticator: stauth.Authenticate, config: Config, platform: Engine, state: Engine,
                    started: float) -> None:
    """The logged-in clinician's pages (st.navigation), scoped to their role; each
    run is logged as ``script_run`` with the page's title, never its query parameters
    (a deep link carries the patient code)."""
    username = st.session_state["username"]
    viewer = load_viewer(platform, username)
    if viewer is None:
        st.title("Caseboard")
        st.error(f"You are logged in as {md(repr(username))}, but the platform has no clinician record for this login, "
                 "so there is nothing you may see. Ask your service administrator to link your account.")
        authenticator.logout("Log out", location="main", key="orphan_logout")
        if st.session_state.get("audited_login") != username:
            audit.record(state, username, "login_refused", reason="no clinician row")
            st.session_state["audited_login"] = username
        return
    if st.session_state.get("audited_login") != username:
        audit.record(state, username, "login", role=viewer.role)
        st.session_state["audited_login"] = username
    set_context(AppContext(config, platform, state, viewer))
    sidebar(authenticator, viewer, config, state)
    if config.is_demo:
        st.badge("DEMO — synthetic data", icon=":material/science:", color="orange")
    page = st.navigation(pages_for(viewer))
    try:
        page.run()
    finally:  # also when the page stops, switches page or meets a database fault
        logs.script_run(page.title, viewer.username, viewer.role, started)


main()
