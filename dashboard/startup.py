"""Start-up checks, as plain functions so they are tested without a browser.

Each returns the problems that must stop the app, in words an operator can act on.
"""

from __future__ import annotations

from sqlalchemy import Engine

from dashboard import db, demo
from dashboard.auth import AuthFile, production_problems
from dashboard.commands import command
from dashboard.config import Config
from dashboard.engine import missing_sqlite_file
from dashboard.i18n import gettext as _


def database_file_problems(config: Config) -> list[str]:
    """A platform SQLite file that does not exist (a mistyped DASHBOARD_DB_URL) is refused:
    opening it would create an empty database and then report every table missing.
    The embedded demo database is made on first start, so it may be absent."""
    path = None if config.uses_embedded_demo else missing_sqlite_file(config.db_url)
    if path is None:
        return []
    return [
        _(
            "There is no platform database file at {path}: check DASHBOARD_DB_URL (Caseboard never creates a "
            "platform database; {command} makes a demo one)."
        ).format(path=path, command=command("demo"))
    ]


def prepare_state_database(config: Config, state: Engine) -> list[str]:
    """Demo mode migrates by itself; production refuses an old revision and names the command."""
    if config.is_demo:
        if db.current_revision(state) != db.head_revision():
            db.upgrade(state)
        return []
    problem = db.revision_problem(state)
    return [problem] if problem else []


def platform_schema_problems(platform: Engine) -> list[str]:
    return [p.message for p in db.check_platform_schema(platform)]


def auth_problems(config: Config, auth: AuthFile) -> list[str]:
    if config.is_demo:
        return []
    return [
        _("Production mode refuses this credentials file: {problem}.").format(problem=p)
        for p in production_problems(
            auth, int(config.settings.min_cookie_key_bytes), float(config.settings.max_cookie_hours)
        )
    ]


def demo_database_problems(config: Config, platform: Engine) -> list[str]:
    """Demo mode (demo users, the published password) only on a database the demo
    generator made, which it marks with its ``demo_meta`` table: never on real data."""
    if not config.is_demo or demo.read_generated_for(platform) is not None:
        return []
    return [
        _(
            "DASHBOARD_MODE=demo is allowed only on a database made by the demo generator "
            "({command}); this one has no demo_meta record. For real data use "
            "DASHBOARD_MODE=production with your own credentials file."
        ).format(command=command("demo"))
    ]
