"""Serving the app and driving it in headless Debian Chromium (streamlit-notes.md)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

from dashboard import i18n

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


DEMO_PASSWORD = "caseboard-demo"  # every demo user's published password (dashboard/demo_auth.yaml)

# As scripts/start.sh serves the app (its comment says why); the environment may override it.
SERVER_ENV = {"MALLOC_ARENA_MAX": "2"}


def start_server(port: int, env: dict[str, str], log_path: Path, timeout_s: float = 90) -> subprocess.Popen:
    """``streamlit run`` headless, its output (the JSON log lines included) to
    ``log_path``, once /_stcore/health answers ok (tests/browser.py serves the app the same way)."""
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "dashboard/ui/app.py",
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--global.developmentMode",
        "false",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env={**SERVER_ENV, **os.environ, **env}, stdout=out, stderr=subprocess.STDOUT
        )
    deadline = time.time() + timeout_s
    while True:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                return proc
        except OSError:
            pass
        if time.time() > deadline or proc.poll() is not None:
            proc.terminate()
            raise RuntimeError(f"the app did not start; see {log_path}")
        time.sleep(0.3)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_problem() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


def demo_database(directory: Path, patients: int | None = None) -> str:
    """A demo SQLite file in ``directory``, its state tables made: tests read them
    before the app's first run would make them."""
    from dashboard import db, demo
    from dashboard.engine import make_engine

    url = f"sqlite:///{directory}/demo.sqlite"
    engine = make_engine(url)
    demo.generate(engine) if patients is None else demo.generate(engine, patients=patients)
    db.upgrade(engine)
    return url


@contextmanager
def served_demo(url: str, **env: str):
    """The app in demo mode on the demo file at ``url``; ``env`` adds variables."""
    with served_app({"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo", **env}) as app:
        yield app


@contextmanager
def served_app(env: dict[str, str]):
    """``streamlit run dashboard/ui/app.py`` (as the load script starts it), its log in artifacts/."""
    port = free_port()
    proc = start_server(port, env, ARTIFACTS / f"server-{port}.log", timeout_s=60)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wait_for_app(page, settle_ms: int = 300) -> None:
    """Wait the way Streamlit's own e2e suite does: connected, script idle, no skeleton."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=60_000)
    for _ in range(2):  # a cookie write triggers a second run
        page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
        page.wait_for_selector("[data-testid='stSkeleton']", state="detached", timeout=60_000)
        page.wait_for_timeout(settle_ms)


def log_in(page, username: str, password: str) -> None:
    """The login form in this process's current language (English unless set, as in tools.screenshots)."""
    page.get_by_role("textbox", name=i18n.gettext("Username")).fill(username)
    page.get_by_role("textbox", name=i18n.gettext("Password")).fill(password)
    page.get_by_role("button", name=i18n.gettext("Login")).click()
    wait_for_app(page)


def open_logged_in(page, url: str, username: str, heading: str | re.Pattern | None = None, settle_ms: int = 300):
    """``url`` opened in ``page``, logged in as a demo user on the login form it shows,
    once the page's heading (``heading``, or any) is drawn and the run that drew it is over."""
    page.goto(url)
    wait_for_app(page)
    log_in(page, username, DEMO_PASSWORD)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=60_000)
    wait_for_app(page, settle_ms)  # the heading comes before the rest of the run
    return page


def logged_in_page(
    browser,
    url: str,
    width: int,
    username: str,
    heading: str | re.Pattern | None = None,
    height: int = 900,
    settle_ms: int = 300,
):
    """A new browser (context) ``width`` px wide with ``url`` open, logged in as a demo
    user (open_logged_in); the caller closes ``page.context``."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    return open_logged_in(page, url, username, heading, settle_ms)


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its own container, so grow the
    viewport to the content's height for the picture, then restore it."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main, body')]"
        ".map(e => e.scrollHeight))"
    )
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def which_chromium() -> str | None:
    return shutil.which("chromium")
