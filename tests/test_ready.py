"""The readiness check: ready only when both databases answer and are as expected
(both backends); an unreachable database is named, with no traceback."""

import secrets

import bcrypt
import pytest
import yaml

from dashboard import db
from dashboard.cli import ready as ready_cli
from dashboard.engine import make_engine
from tests.conftest import DEMO_NOW as NOW
from tests.factory import Platform


@pytest.fixture
def env(db_url, monkeypatch, tmp_path):
    """Production settings with a proper credentials file."""
    hashed = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(rounds=4)).decode()
    creds = tmp_path / "auth.yaml"
    creds.write_text(
        yaml.safe_dump(
            {
                "credentials": {"usernames": {"dr.smith": {"password": hashed}}},
                "cookie": {"name": "caseboard", "key": secrets.token_urlsafe(48), "expiry_days": 0.5},
            }
        )
    )
    monkeypatch.setenv("DASHBOARD_DB_URL", db_url)
    monkeypatch.setenv("DASHBOARD_MODE", "production")
    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(creds))
    return db_url


def test_ready_when_the_platform_matches_and_the_state_is_migrated(env, capsys):
    Platform(make_engine(env), NOW)
    db.upgrade(make_engine(env))
    assert ready_cli.main([]) == 0
    assert capsys.readouterr().out.strip() == "ready"


def test_not_ready_before_migration_or_with_a_foreign_schema(env, capsys):
    make_engine(env).connect().close()  # an empty database (a SQLite file that does not exist is refused earlier)
    assert ready_cli.main([]) == 1  # no platform tables, no state tables
    out = capsys.readouterr().out
    assert "platform schema: " in out and "state database: " in out and "caseboard db upgrade" in out


def test_not_ready_when_the_database_is_unreachable(env, monkeypatch, capsys):
    monkeypatch.setenv("DASHBOARD_DB_URL", "postgresql+psycopg://nobody@127.0.0.1:9/none")
    assert ready_cli.main([]) == 1
    out = capsys.readouterr().out
    assert "platform database unreachable (OperationalError)" in out and "Traceback" not in out


def test_not_ready_with_demo_credentials_in_production(env, monkeypatch, capsys):
    from dashboard.config import DEMO_AUTH_FILE

    monkeypatch.setenv("DASHBOARD_AUTH_FILE", str(DEMO_AUTH_FILE))
    Platform(make_engine(env), NOW)
    db.upgrade(make_engine(env))
    assert ready_cli.main([]) == 1
    assert "credentials: " in capsys.readouterr().out
