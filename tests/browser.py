"""Serving the app and driving it in headless Debian Chromium (streamlit-notes.md)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

from dashboard.load import CHROMIUM, free_port, start_server

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def chromium_problem() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements-dev.txt)"
    return None


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
    page.get_by_role("textbox", name="Username").fill(username)
    page.get_by_role("textbox", name="Password").fill(password)
    page.get_by_role("button", name="Login").click()
    wait_for_app(page)


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its own container, so grow the
    viewport to the content's height for the picture, then restore it."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], section.main, body')]"
                           ".map(e => e.scrollHeight))")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, size["height"]), 8000)})
    page.wait_for_timeout(400)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)
    return path


def which_chromium() -> str | None:
    return shutil.which("chromium")
