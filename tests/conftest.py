"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL tests get a fresh database per test, dropped afterwards. Locally a
missing server skips them with the reason; under CI=true it is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

# Property tests: a fixed, derandomised example count in CI; more locally if asked.
hypothesis_settings.register_profile("ci", max_examples=40, derandomize=True, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=40, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

PG_ADMIN_URL = os.environ.get("CASEBOARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
BACKENDS = ("sqlite", "postgresql")


def missing(reason: str) -> None:
    """Skip locally; fail in CI, where every backend and the browser must run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must run, not skip)")
    pytest.skip(reason)


_pg_error: list[str] = []


def _pg_available() -> str | None:
    if not _pg_error:
        try:
            eng = create_engine(PG_ADMIN_URL)
            with eng.connect() as conn:
                conn.execute(text("select 1"))
            eng.dispose()
            _pg_error.append("")
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            _pg_error.append(f"PostgreSQL not reachable at {PG_ADMIN_URL}: {exc.__class__.__name__}")
    return _pg_error[0] or None


def create_pg_database() -> str:
    """Create an empty, uniquely named database and return its URL."""
    problem = _pg_available()
    if problem:
        missing(problem)
    name = f"caseboard_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def fresh_database_url(backend: str, tmp_dir) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir}/caseboard.sqlite"
        return
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path) -> Iterator[str]:
    """An empty database on each backend."""
    yield from fresh_database_url(backend, tmp_path)


# A fixed clock for generated demo data, so expectations do not move with the wall clock.
DEMO_NOW = datetime(2026, 11, 20, 9, 30, 0)
# The `platform` fixture's clock, a Friday morning: hand-built rows are placed relative to it.
PLATFORM_NOW = datetime(2026, 11, 20, 9, 0, 0)


@pytest.fixture
def platform(db_url):
    """A hand-built platform (tests/factory.py) with the state tables beside it, on each
    backend, at PLATFORM_NOW. A module whose rows need another clock, or no state
    tables, defines its own ``platform``."""
    from dashboard import db
    from dashboard.engine import make_engine
    from tests.factory import Platform

    p = Platform(make_engine(db_url), PLATFORM_NOW)
    db.upgrade(p.engine)
    return p


@pytest.fixture(scope="module", params=BACKENDS)
def demo_db(request, tmp_path_factory) -> Iterator[str]:
    """The default demo (generated once per test module and backend), as a URL."""
    from dashboard import demo
    from dashboard.engine import make_engine

    gen = fresh_database_url(request.param, tmp_path_factory.mktemp("demo"))
    url = next(gen)
    engine = make_engine(url)
    demo.generate(engine, now=DEMO_NOW)
    engine.dispose()
    yield url
    gen.close()


def production_env(monkeypatch, tmp_path, engine, db_url: str | None = None) -> str:
    """Serve a hand-built platform in production mode, as a real service would run
    (demo mode runs only on a database the demo generator made): a credentials file
    with every clinician of ``engine``'s platform under a fresh bcrypt hash, a
    random cookie key, the cookie within its bound. Returns the users' password."""
    import secrets

    import bcrypt
    import yaml

    from dashboard.auth import normalise_username
    from dashboard.schema import clinicians

    with engine.connect() as conn:
        names = sorted({normalise_username(u) for u in conn.scalars(select(clinicians.c.username))})
    password = secrets.token_urlsafe(12)
    users = {
        name: {
            "password": bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode(),
            "first_name": name,
            "last_name": "Test",
        }
        for name in names
    }
    path = tmp_path / "production-users.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "credentials": {"usernames": users},
                "cookie": {"name": "caseboard_test", "key": secrets.token_hex(32), "expiry_days": 0.5},
            }
        )
    )
    monkeypatch.setenv("DASHBOARD_MODE", "production")
    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(path))
    if db_url is not None:
        monkeypatch.setenv("DASHBOARD_DB_URL", db_url)
    return password


def served_platform(db_url: str, monkeypatch, tmp_path, app_db_url: str | None = None):
    """A hand-built platform (tests/factory.py) with its state tables, served to AppTest
    through the environment in production mode (production_env), the app reaching it at
    ``app_db_url`` (default ``db_url``; a proxy's address, say). Rows are relative to the
    wall clock, which the app reads."""
    from dashboard import db
    from dashboard.engine import make_engine
    from tests.factory import Platform

    platform = Platform(make_engine(db_url), datetime.now(UTC).replace(tzinfo=None, microsecond=0))
    db.upgrade(platform.engine)
    platform.password = production_env(monkeypatch, tmp_path, platform.engine, app_db_url or db_url)
    return platform


@pytest.fixture
def app_platform(db_url, monkeypatch, tmp_path):
    """A hand-built platform served to AppTest, on each backend (served_platform)."""
    return served_platform(db_url, monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module (tests/browser.py)."""
    from tests.browser import CHROMIUM, CHROMIUM_ARGS, chromium_problem

    problem = chromium_problem()
    if problem:
        missing(problem)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
