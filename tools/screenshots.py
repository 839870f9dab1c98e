"""The README's screenshots, made again: ``python -m tools.screenshots``.

Serves the app in demo mode on a freshly made demo database with its history (as
the embedded demo is made), logs in as each role in headless Chromium and saves
every page the README shows at a laptop width (1400 px) and a phone width (390 px)
under docs/screenshots/: ``triage.png`` and ``triage-narrow.png``, and so on
(``--only caseload`` for some). Team snapshots are built first, as a running
``caseboard refresh`` keeps them, so Caseload shows its "as of". ``--lang fi`` takes
them in another language (``DASHBOARD_LANGUAGE``) under docs/screenshots/fi/. Look
at them before committing: a screenshot is a check by eye, not a test.
"""

from __future__ import annotations

import argparse
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from dashboard import i18n, team_snapshot, triage
from dashboard.config import DEMO_TIMEZONE, Settings
from dashboard.demo import read_generated_for
from dashboard.embedded import ensure_demo_database
from dashboard.engine import make_engine
from dashboard.scope import load_viewer
from dashboard.timeutil import utcnow
from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, logged_in_page, screenshot, served_app

OUT_DIR = ROOT / "docs" / "screenshots"
WIDTHS = {"": 1400, "-narrow": 390}  # file-name suffix: viewport width in px


@dataclass(frozen=True)
class Shot:
    """One README picture: who is logged in and which address they open."""

    name: str
    user: str
    path: str
    heading: str  # the page's title (a msgid), or a regular expression with {code}, once it has loaded

    def heading_pattern(self, code: str) -> re.Pattern[str]:
        """The heading as the current language shows it (or in English, for a page not yet translated)."""
        if "{code}" in self.heading:
            return re.compile(self.heading.format(code=re.escape(code)))
        return re.compile(re.escape(i18n.gettext(self.heading)) + "|" + re.escape(self.heading))


SHOTS = (
    Shot("triage", "therapist1", "triage", "Triage"),
    Shot("my-patients", "therapist1", "patients", "My patients"),
    Shot("patient", "therapist1", "patient?patient={code}", "^{code}"),
    Shot("followups", "gp2", "followups", "Follow-ups due"),
    Shot("caseload", "lead1", "caseload", "Caseload"),
    Shot("audit", "lead1", "audit", "Audit trail"),
    Shot("contact", "peer1", "contact", "Who to contact today"),
)


def most_urgent_code(url: str, username: str) -> str:
    """The patient at the top of the user's Triage: the patient page worth showing."""
    engine = make_engine(url)
    try:
        viewer = load_viewer(engine, username)
        now = read_generated_for(engine)
        return str(triage.triage(engine, engine, viewer, now, Settings()).queue["code"].iloc[0])
    finally:
        engine.dispose()


def keep_team_snapshots(url: str) -> None:
    """What a running ``caseboard refresh`` keeps: each team's Caseload snapshot, so the
    lead's Caseload shows its "as of" as a served app with a refresher does."""
    engine = make_engine(url)
    try:
        team_snapshot.build_due(engine, engine, utcnow(), Settings(), ZoneInfo(DEMO_TIMEZONE), 0, force=True)
    finally:
        engine.dispose()


def take(app_url: str, code: str, out_dir: Path, only: set[str] | None = None) -> list[Path]:
    """Every shot (or those named in ``only``) at every width; the paths written."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for shot in (s for s in SHOTS if only is None or s.name in only):
            for suffix, width in WIDTHS.items():
                url = f"{app_url}/{shot.path.format(code=code)}"
                page = logged_in_page(browser, url, width, shot.user, shot.heading_pattern(code), settle_ms=800)
                saved = screenshot(page, f"{shot.name}{suffix}")
                target = out_dir / saved.name
                target.write_bytes(saved.read_bytes())
                written.append(target)
                page.context.close()
        browser.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="folder for the PNG files (default docs/screenshots[/LANG])")
    parser.add_argument("--lang", choices=list(i18n.LANGUAGES), default=i18n.SOURCE, help="the pages' language")
    parser.add_argument(
        "--only", help="comma-separated shot names (default: all: " + ", ".join(s.name for s in SHOTS) + ")"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    out = args.out or (OUT_DIR if args.lang == i18n.SOURCE else OUT_DIR / args.lang)
    out.mkdir(parents=True, exist_ok=True)
    i18n.set_language(args.lang)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/demo.sqlite"
        engine = make_engine(url)
        ensure_demo_database(engine, Settings().demo_max_age_hours)  # as the app makes it: with its history
        engine.dispose()
        code = most_urgent_code(url, "therapist1")
        keep_team_snapshots(url)
        env = {"DASHBOARD_DB_URL": url, "DASHBOARD_MODE": "demo", "DASHBOARD_LANGUAGE": args.lang}
        with served_app(env) as app_url:
            for path in take(app_url, code, out, only):
                print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
