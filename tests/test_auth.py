"""Production refuses demo users, weak cookie keys and plain-text passwords."""

import secrets

import bcrypt
import pytest

from dashboard.auth import AuthFile, AuthFileError, load_auth_file, production_problems
from dashboard.config import DEMO_AUTH_FILE

STRONG_KEY = secrets.token_urlsafe(48)
HASH = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(rounds=4)).decode()


def auth(users: dict, key: str = STRONG_KEY) -> AuthFile:
    return AuthFile({"usernames": users}, "caseboard", key, 1)


def test_a_proper_production_file_passes():
    assert production_problems(auth({"dr.smith": {"password": HASH}}), 32) == []


def test_demo_file_is_refused_in_production():
    problems = production_problems(load_auth_file(DEMO_AUTH_FILE), 32)
    assert any("demo users are not allowed" in p and "therapist1" in p for p in problems)
    assert any("published default" in p for p in problems)


@pytest.mark.parametrize("key", ["", "some_key", "short-key-1234567890"])
def test_weak_cookie_keys_are_refused(key):
    problems = production_problems(auth({"dr.smith": {"password": HASH}}, key=key), 32)
    assert len(problems) == 1 and "cookie key" in problems[0]


def test_plain_text_password_is_refused():
    problems = production_problems(auth({"dr.smith": {"password": "hunter2"}, "dr.jones": {"password": HASH}}), 32)
    assert problems == ["passwords must be bcrypt hashes, found plain text for: dr.smith"]


def test_unreadable_credentials_file_is_a_clear_error(tmp_path):
    with pytest.raises(AuthFileError, match="does not exist"):
        load_auth_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cookie: {}\n")
    with pytest.raises(AuthFileError, match="no credentials.usernames"):
        load_auth_file(bad)
