"""Caseboard entry point: ``streamlit run dashboard/ui/app.py``.

Checks configuration and databases, logs the clinician in, then shows only the
pages their role may use (st.navigation). It lives in dashboard/, away from the
top-level pages/ folder, because a pages/ folder beside the entry point turns on
Streamlit's legacy page discovery (docs/streamlit-notes.md, Navigation).

Caseboard owns the login form and the cookie's token (README, Sessions): every
run, including the first run of a new browser session, finds its session record
(dashboard.sessions) from this browser session's state or from the cookie, and
shows the login form unless that record is live.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard import audit, i18n, logs, preferences, sessions, startup, tokens
from dashboard.auth import AuthFile, AuthFileError, file_stamp, load_auth_file
from dashboard.config import Config, ConfigError, load_config
from dashboard.demo import DEMO_USERS
from dashboard.embedded import ensure_demo_database
from dashboard.engine import make_engine
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.scope import Viewer, load_viewer
from dashboard.text import md
from dashboard.ui import cookies, faults, refresher
from dashboard.ui.components.compact_list import NARROW_CSS
from dashboard.ui.context import AppContext, set_context
from dashboard.ui.nav import log_title, page_urls, pages_for

DEMO_PASSWORD = "caseboard-demo"
ICON = Path(__file__).resolve().parents[1] / "static" / "icon.png"
# Streamlit marks a focused sidebar page link only by a faint background, barely
# visible on the current page's link (WCAG 2.4.7, docs/accessibility.md).
# The main block's 6rem top padding left about 140 px empty above every title, so a laptop
# showed 5-8 table rows; 2.5rem still clears the header bar (a narrow window stacks the
# sidebar button in it, so there the page starts lower). While the sidebar is open the demo
# badge stands in that padding, above the title, instead of pushing every page down 42 px.
# With the sidebar closed the header bar is opaque and holds its button, so the badge
# stays above the title, below the bar (it was hidden under it).
FOCUS_CSS = (
    "<style>[data-testid=stSidebarNavLink]:focus-visible{outline:2px solid #1f5f8b;outline-offset:1px}"
    "[data-testid=stMainBlockContainer]{padding-top:2.5rem;position:relative}"
    "@media (min-width:641px){[data-testid=stApp]:not(:has([data-testid=stExpandSidebarButton])) "
    "[data-testid=stLayoutWrapper]:has(>.st-key-demo_badge){position:absolute;top:0.6rem;width:auto}}"
    "[data-testid=stApp]:has([data-testid=stExpandSidebarButton]):has(.st-key-demo_badge) "
    "[data-testid=stMainBlockContainer]{padding-top:4.5rem}"
    "@media (max-width:640px){[data-testid=stMainBlockContainer]{padding-top:4.5rem}}</style>"
)
ROLE_NAMES = {
    "gp": N_("GP"),
    "therapist": N_("Therapist"),
    "team_lead": N_("Team lead"),
    "peer_supporter": N_("Peer supporter"),
}
DEMO_DATA = N_("DEMO — synthetic data")
SESSION_ID = sessions.SESSION_KEY
COOKIE_SET = "cookie_set"  # this browser session's login wrote the cookie (st.context does not show it yet)
CLEARED_TOKEN = "cleared_token"  # a cookie value already refused and deleted (st.context keeps the old one)
LOGIN_ERROR = "login_error"  # the last attempt's refusal, in words
NOTICE = "login_notice"  # why the login form is shown again: "idle", "logout" or "removed"
LANGUAGE = "language"  # this browser session's language, once chosen or read for its login
LANGUAGE_OF = "language_of"  # the username whose stored choice LANGUAGE holds
LANGUAGE_SELECT = "language_select"  # the sidebar selector's key


@st.cache_resource(show_spinner=False)
def get_engine(url: str, statement_timeout_s: float) -> Engine:
    return make_engine(url, statement_timeout_s)


class SchemaMismatch(Exception):
    """The platform's schema breaks the contract: raised, so the cache keeps only a pass."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


# The platform's schema, checked at the first run and then at most once a minute per
# process: reflecting it took 18 ms of every page run at 100,000 patients on
# PostgreSQL (docs/performance.md). A failing check is never kept, so a repair shows
# at the next run.
SCHEMA_RECHECK_SECONDS = 60


@st.cache_data(ttl=SCHEMA_RECHECK_SECONDS, show_spinner=False)
def check_platform_schema(_platform: Engine, db_url: str) -> None:
    """Raise SchemaMismatch naming what breaks the contract (README, Schema contract)."""
    if problems := startup.platform_schema_problems(_platform):
        raise SchemaMismatch(problems)


@st.cache_resource(show_spinner=False, max_entries=4)
def get_auth_file(path: str, stamp: tuple[int, int, int]) -> AuthFile:
    """Read again whenever the file's stamp changes (checked every run), so a removed
    account or a rotated password takes effect at once on every instance."""
    auth = load_auth_file(Path(path))
    sessions.dummy_hash(sessions.hash_cost(auth.password_hashes()))  # made now, not during someone's login
    return auth


def stop_with(title: str, problems: list[str]) -> None:
    st.title(_("Caseboard cannot start"))
    st.error(title)
    for problem in problems:
        st.markdown(f"- {problem}")
    st.stop()


def prepare(config: Config) -> tuple[Engine, Engine]:
    """Engines for the platform and state databases, once checked."""
    if problems := startup.database_file_problems(config):
        stop_with(_("The platform database cannot be found."), problems)
    timeout = float(config.settings.statement_timeout_seconds)
    platform, state = get_engine(config.db_url, timeout), get_engine(config.state_db_url, timeout)
    if config.uses_embedded_demo and "demo_checked" not in st.session_state:
        with st.spinner(_("Preparing the demo database with synthetic patients (first start takes a few seconds)…")):
            # the history only into the demo file itself, never a separate state database
            ensure_demo_database(platform, config.settings.demo_max_age_hours, config.state_db_url == config.db_url)
        st.session_state["demo_checked"] = True
    if config.is_demo and "demo_verified" not in st.session_state:  # once per browser session
        problems = startup.demo_database_problems(config, platform)
        if problems:
            stop_with(_("Demo mode runs only on a database made by the demo generator."), problems)
        st.session_state["demo_verified"] = True
    problems = startup.prepare_state_database(config, state)
    if problems:
        stop_with(_("The dashboard's own tables are not at the expected revision."), problems)
    try:
        check_platform_schema(platform, config.db_url)
    except SchemaMismatch as mismatch:
        stop_with(
            _("The platform database does not match the schema Caseboard reads (see README, 'Schema contract')."),
            mismatch.problems,
        )
    refresher.start_in_process(config, platform, state)  # the embedded demo's, once per process
    return platform, state


def demo_banner(config: Config) -> None:
    if config.is_demo:
        st.warning(_("DEMO — synthetic data. No real patients are shown."), icon=":material/science:")


# ---------------------------------------------------------------- the session of this run


def forget_session(auth: AuthFile) -> None:
    """This browser session no longer has a login: drop its id and delete the cookie
    once (st.context.cookies keeps the value the browser sent when it connected)."""
    st.session_state.pop(SESSION_ID, None)
    st.session_state.pop("audited_login", None)  # a new login in this browser session is audited again
    token = st.context.cookies.get(auth.cookie_name)
    sent = bool(token) and st.session_state.get(CLEARED_TOKEN) != token
    if st.session_state.pop(COOKIE_SET, False) or sent:
        if token:
            st.session_state[CLEARED_TOKEN] = token
        cookies.delete_cookie(auth.cookie_name, key=f"cookie_delete_{secrets.token_hex(4)}")


def current_user(config: Config, auth: AuthFile, state: Engine) -> str | None:
    """The normalised username whose live session this run belongs to, or None.

    The session id comes from this browser session's state (set at login) or, on the
    first run of a new browser session, from the cookie's token; either way its record
    decides. A crafted, expired or foreign token is deleted and ignored. A run caused
    by a refresh timer, or restored from the cookie (a reload, a new tab), is not a
    clinician action, so it keeps the idle clock where it was."""
    action = not sessions.take_timer_run(st.session_state)
    session_id = st.session_state.get(SESSION_ID)
    claimed = None
    if session_id is None:
        token = st.context.cookies.get(auth.cookie_name)
        if not token or token == st.session_state.get(CLEARED_TOKEN):
            return None
        claims = tokens.read_token(token, auth.cookie_key)
        if claims is None:
            forget_session(auth)
            return None
        session_id, claimed, action = claims.session_id, claims.username, False
    check = sessions.check_session(state, session_id, float(config.settings.idle_timeout_minutes), action=action)
    if check.status == sessions.IDLE:
        forget_session(auth)  # logged out first...
        st.session_state[NOTICE] = "idle"
        sessions.audit_logouts_safely(state, session_id)  # ...then audited, retried by a later run if it fails
        return None
    if not check.active or (claimed is not None and claimed != check.username):
        forget_session(auth)
        return None
    if check.username not in auth.password_hashes():  # removed from the credentials file since
        sessions.end_session(state, session_id, "account_removed")
        forget_session(auth)
        st.session_state[NOTICE] = "removed"
        sessions.audit_logouts_safely(state, session_id)
        return None
    st.session_state[SESSION_ID] = session_id
    return check.username


def log_out(state: Engine, auth: AuthFile) -> None:
    """The Log out button: the record is revoked, so the same token logs in nowhere."""
    session_id = st.session_state.get(SESSION_ID)
    if session_id:
        sessions.end_session(state, session_id, "logout")
        sessions.audit_logouts_safely(state, session_id)
    forget_session(auth)
    st.session_state[NOTICE] = "logout"


# ---------------------------------------------------------------- login


def login_page(config: Config, auth: AuthFile, state: Engine) -> None:
    _left, column, _right = st.columns([1, 2, 1])
    with column:
        st.title("Caseboard")
        st.caption(_("Guided iCBT: who needs you today, and why."))
        demo_banner(config)
        # kept until the next login attempt: the cookie's deletion reruns the page at once,
        # and a notice popped here flashed for a moment and was gone
        notice = st.session_state.get(NOTICE)
        if notice == "idle":
            minutes = float(config.settings.idle_timeout_minutes)
            st.info(
                i18n.ngettext(
                    "You were logged out after {minutes} minute without activity.",
                    "You were logged out after {minutes} minutes without activity.",
                    int(minutes),
                ).format(minutes=i18n.format_number(minutes))
            )
        elif notice == "logout":
            st.info(_("You have logged out."))
        elif notice == "removed":
            st.error(_("This account is no longer authorised. Ask your service administrator."))
        with st.form("login_form"):
            username = st.text_input(_("Username"), autocomplete="username")
            password = st.text_input(_("Password"), type="password", autocomplete="current-password")
            submitted = st.form_submit_button(_("Login"))
        if submitted:
            submit_login(config, auth, state, username, password)
        if st.session_state.get(LOGIN_ERROR):  # kept until the next attempt, as a rerun clears the form
            st.error(st.session_state[LOGIN_ERROR])
        if config.is_demo:
            demo_logins()


def submit_login(config: Config, auth: AuthFile, state: Engine, username: str, password: str) -> None:
    result = sessions.attempt_login(
        state,
        auth.password_hashes(),
        username,
        password,
        int(config.settings.max_failed_logins),
        float(config.settings.login_lockout_minutes),
    )
    st.session_state.pop(LOGIN_ERROR, None)
    st.session_state.pop(NOTICE, None)  # why the form was shown last time no longer applies
    if result.outcome == "locked":
        minutes = float(config.settings.login_lockout_minutes)
        st.session_state[LOGIN_ERROR] = i18n.ngettext(
            "Too many failed logins for this username. Try again in {minutes} minute, or ask your administrator.",
            "Too many failed logins for this username. Try again in {minutes} minutes, or ask your administrator.",
            int(minutes),
        ).format(minutes=i18n.format_number(minutes))
        return
    if result.outcome != "ok":
        st.session_state[LOGIN_ERROR] = _("Username or password is incorrect.")
        return
    session_id = sessions.start_session(state, result.username)
    st.session_state[SESSION_ID] = session_id
    st.session_state.pop(CLEARED_TOKEN, None)
    lifetime = timedelta(days=auth.expiry_days)
    now = datetime.now(UTC)
    st.session_state[COOKIE_SET] = True
    cookies.set_cookie(
        auth.cookie_name,
        tokens.issue_token(result.username, session_id, auth.cookie_key, lifetime, now),
        now + lifetime,
        key=f"cookie_set_{session_id[:12]}",
    )
    st.success(_("Logged in. Opening your dashboard…"))


def demo_logins() -> None:
    rows = "".join(f"| `{user}` | {_(ROLE_NAMES[role])} | {name} |\n" for user, role, name, _team in DEMO_USERS)
    with st.expander(_("Demo logins"), expanded=True):
        password = _("Password for every demo user: {password}").format(password=f"`{DEMO_PASSWORD}`")
        header = "| " + " | ".join((_("username"), _("role"), _("name"))) + " |"
        st.markdown(f"{password}\n\n{header}\n|---|---|---|\n{rows}")


# ---------------------------------------------------------------- logged in


def idle_watch(state: Engine, session_id: str, idle_minutes: float) -> None:
    """Runs every ``idle_check_seconds`` as a fragment: once the session is idle (or
    revoked elsewhere) the whole app reruns, and that run shows the login form, so an
    unattended screen blanks itself without a click. Neither run is an action."""
    try:
        live = sessions.session_is_live(state, session_id, idle_minutes)
    except SQLAlchemyError:
        live = False  # cannot tell: the full run shows the fault banner, not patient data
    if not live:
        sessions.mark_timer_run(st.session_state)
        st.rerun(scope="app")


def sidebar(viewer: Viewer, config: Config, state: Engine, auth: AuthFile) -> None:
    with st.sidebar:
        st.markdown(f"**{md(viewer.display_name)}**  \n{_(ROLE_NAMES.get(viewer.role, viewer.role))}")
        if config.is_demo:
            st.caption(_(DEMO_DATA))
        language_selector(state, viewer.username)
        st.button(_("Log out"), key="sidebar_logout", on_click=log_out, args=(state, auth))
        st.fragment(idle_watch, run_every=timedelta(seconds=float(config.settings.idle_check_seconds)))(
            state, st.session_state[SESSION_ID], float(config.settings.idle_timeout_minutes)
        )


# ---------------------------------------------------------------- language


def run_language(config: Config | None) -> str:
    """This run's language: the login's stored or just chosen one, else DASHBOARD_LANGUAGE,
    else the browser's, else English (README, Languages)."""
    code = i18n.choose(st.session_state.get(LANGUAGE), config.language if config else None, st.context.locale)
    i18n.set_language(code)
    return code


def read_login_language(config: Config, state: Engine, username: str) -> None:
    """Once per login in this browser session: the language stored for it, if any."""
    if st.session_state.get(LANGUAGE_OF) != username:
        st.session_state[LANGUAGE] = preferences.read_language(state, username)
        st.session_state[LANGUAGE_OF] = username
        st.session_state.pop(LANGUAGE_SELECT, None)  # the selector shows the login's language
        run_language(config)


def choose_language(state: Engine, username: str) -> None:
    """The selector's callback: kept for the login, and the rerun after it is in the new language."""
    code = st.session_state[LANGUAGE_SELECT]
    preferences.save_language(state, username, code)
    st.session_state[LANGUAGE] = code


def language_selector(state: Engine, username: str) -> None:
    codes = list(i18n.LANGUAGES)
    current = i18n.current_language()
    st.selectbox(
        _("Language"),
        codes,
        index=codes.index(current) if current in codes else 0,
        format_func=lambda code: i18n.LANGUAGES[code].native,
        key=LANGUAGE_SELECT,
        on_change=choose_language,
        args=(state, username),
    )


def main() -> None:
    started = logs.RunStart.now()  # this run's wall and CPU clocks (README, Logs)
    logs.configure()  # once per process; later runs find it configured
    # A local icon: a ":material/..." icon is fetched from Google's font servers on every page
    # load, which the deployment's Content-Security-Policy blocks (README, Deployment).
    st.set_page_config(page_title="Caseboard", page_icon=str(ICON), layout="wide")
    st.html(FOCUS_CSS + NARROW_CSS + cookies.HIDE_CSS)  # style only: no space in the page
    with cookies.fixed_slot():
        serve(started)


def serve(started: logs.RunStart) -> None:
    """This run's page: a refusal, the login form, or the clinician's pages."""
    run_language(None)  # a configuration refusal is in the browser's language
    try:
        config = load_config()
        auth_file = get_auth_file(str(config.auth_file), file_stamp(config.auth_file))
    except (ConfigError, AuthFileError) as exc:
        stop_with(_("The configuration is not valid."), [str(exc)])
    run_language(config)
    problems = startup.auth_problems(config, auth_file)
    if problems:
        stop_with(_("Production mode refuses an insecure set-up."), problems)
    try:
        platform, state = prepare(config)
        username = current_user(config, auth_file, state)
        if username is not None:
            read_login_language(config, state, username)
    except SQLAlchemyError as exc:
        faults.show(exc, config.settings.statement_timeout_seconds)
        st.stop()
    if username is None:
        sessions.audit_logouts_safely(state)  # logouts whose audit row could not be written before

        # Every page URL (a bookmark, a deep link /patient?patient=CODE) shows the login
        # form at its own address; after login the real page is registered there, so
        # the link is followed as opened, query parameters included.
        def show_login() -> None:
            login_page(config, auth_file, state)

        st.navigation(
            [
                st.Page(show_login, title=_("Log in"), url_path="login", default=True),
                *(st.Page(show_login, title=_("Log in"), url_path=path, visibility="hidden") for path in page_urls()),
            ],
            position="hidden",
        ).run()
        return

    try:
        clinician_pages(username, config, auth_file, platform, state, started)
    except SQLAlchemyError as exc:  # lost mid-session or stopped at its time limit: a banner, never a traceback
        faults.show(exc, config.settings.statement_timeout_seconds)


def clinician_pages(
    username: str, config: Config, auth: AuthFile, platform: Engine, state: Engine, started: logs.RunStart
) -> None:
    """The logged-in clinician's pages (st.navigation), scoped to their role; each
    run is logged as ``script_run`` with the page's title, never its query parameters
    (a deep link carries the patient code)."""
    viewer = load_viewer(platform, username)
    if viewer is None:
        st.title("Caseboard")
        st.error(
            _(
                "You are logged in as {username}, but the platform has no clinician record for this login, "
                "so there is nothing you may see. Ask your service administrator to link your account."
            ).format(username=md(repr(username)))
        )
        st.button(_("Log out"), key="orphan_logout", on_click=log_out, args=(state, auth))
        if st.session_state.get("audited_login") != username:
            audit.record(state, username, "login_refused", reason="no clinician row")
            st.session_state["audited_login"] = username
        return
    if st.session_state.get("audited_login") != username:
        audit.record(state, username, "login", role=viewer.role)
        st.session_state["audited_login"] = username
    set_context(AppContext(config, platform, state, viewer))
    sidebar(viewer, config, state, auth)
    if config.is_demo:
        with st.container(key="demo_badge"):  # placed by FOCUS_CSS
            st.badge(_(DEMO_DATA), icon=":material/science:", color="orange")
    page = st.navigation(pages_for(viewer))
    try:
        page.run()
    finally:  # also when the page stops, switches page or meets a database fault
        logs.script_run(log_title(page.url_path, viewer.role), viewer.username, viewer.role, started)


main()
