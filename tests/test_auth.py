"""Production refuses demo users and hashes, weak cookie keys, long-lived cookies,
non-normalised usernames and plain-text passwords; the cookie's token verifies
only what this service signed."""

import base64
import json
import secrets
from datetime import UTC, datetime, timedelta

import bcrypt
import jwt
import pytest

from dashboard.auth import AuthFile, AuthFileError, file_stamp, load_auth_file, normalise_username, production_problems
from dashboard.config import DEMO_AUTH_FILE
from dashboard.tokens import issue_token, read_token

STRONG_KEY = secrets.token_urlsafe(48)
HASH = bcrypt.hashpw(b"s3cret-pass", bcrypt.gensalt(rounds=4)).decode()
DEMO_HASH = load_auth_file(DEMO_AUTH_FILE).credentials["usernames"]["gp1"]["password"]


def auth(users: dict, key: str = STRONG_KEY, expiry_days: float = 0.5) -> AuthFile:
    return AuthFile({"usernames": users}, "caseboard", key, expiry_days)


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


@pytest.mark.parametrize("key", ["x" * 64, "ab" * 32, "0123456789abcdef" * 4, "abcdefgh" * 8])
def test_low_entropy_cookie_keys_are_refused(key):
    problems = production_problems(auth({"dr.smith": {"password": HASH}}, key=key), 32)
    assert len(problems) == 1 and "pattern, not a random secret" in problems[0]


def test_random_keys_pass_the_entropy_check():
    for _ in range(50):
        assert production_problems(auth({"dr.smith": {"password": HASH}}, key=secrets.token_hex(32)), 32) == []


def test_the_published_demo_hash_is_refused_under_any_username():
    problems = production_problems(auth({"dr.smith": {"password": DEMO_HASH}}), 32)
    assert problems == ["the published demo password hash is used for: dr.smith"]


@pytest.mark.parametrize("name", ["Therapist1", "GP1", "lead1 "])
def test_demo_usernames_are_refused_in_any_case(name):
    problems = production_problems(auth({name: {"password": HASH}}), 32)
    assert any("demo users are not allowed" in p and normalise_username(name) in p for p in problems)


def test_usernames_must_be_normalised_in_production():
    problems = production_problems(auth({"Dr.Smith": {"password": HASH}, "dr.jones": {"password": HASH}}), 32)
    assert problems == [
        "usernames must be written in their normalised form (lower case, no surrounding spaces), found: 'Dr.Smith'"
    ]


def test_a_cookie_lifetime_beyond_the_bound_is_refused():
    assert production_problems(auth({"dr.smith": {"password": HASH}}, expiry_days=0.5), 32, 12) == []
    problems = production_problems(auth({"dr.smith": {"password": HASH}}, expiry_days=30), 32, 12)
    assert problems == [
        "cookie.expiry_days is 30 days (720 hours); production allows at most 12 hours (setting max_cookie_hours)"
    ]


def test_plain_text_password_is_refused():
    problems = production_problems(auth({"dr.smith": {"password": "hunter2"}, "dr.jones": {"password": HASH}}), 32)
    assert problems == ["passwords must be bcrypt hashes, found plain text for: dr.smith"]


def test_unreadable_credentials_file_is_a_clear_error(tmp_path):
    with pytest.raises(AuthFileError, match="does not exist"):
        load_auth_file(tmp_path / "missing.yaml")
    with pytest.raises(AuthFileError, match="does not exist"):
        file_stamp(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("cookie: {}\n")
    with pytest.raises(AuthFileError, match="no credentials.usernames"):
        load_auth_file(bad)


def test_one_normalisation_of_usernames():
    assert normalise_username("  Dr.Smith ") == "dr.smith"
    assert normalise_username("ＤＲ.smith") == "dr.smith"  # full-width letters (NFKC)
    users = auth({"Dr.Smith": {"password": HASH}}).password_hashes()
    assert set(users) == {"dr.smith"}


# ---------------------------------------------------------------- the cookie's token


def unsigned(claims: dict) -> str:
    """A token with ``alg: none``: anyone can write one."""

    def part(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def test_a_token_this_service_signed_names_its_session():
    token = issue_token("dr.smith", "sid-1", STRONG_KEY, timedelta(hours=12))
    claims = read_token(token, STRONG_KEY)
    assert (claims.username, claims.session_id) == ("dr.smith", "sid-1")


@pytest.mark.parametrize(
    "token",
    [
        unsigned({"sub": "dr.smith", "sid": "sid-1", "exp": 4102444800}),
        jwt.encode({"sub": "dr.smith", "sid": "sid-1", "exp": 1}, STRONG_KEY, algorithm="HS256"),  # expired
        jwt.encode(
            {"sub": "dr.smith", "sid": "sid-1", "exp": "tomorrow"}, STRONG_KEY, algorithm="HS256"
        ),  # a text expiry
        jwt.encode({"sub": "dr.smith", "sid": "sid-1", "exp": 4102444800}, "another-key-" * 4, algorithm="HS256"),
        jwt.encode({"sub": "dr.smith", "exp": 4102444800}, STRONG_KEY, algorithm="HS256"),  # no session id
        jwt.encode({"username": "dr.smith", "exp_date": 4102444800.0}, STRONG_KEY, algorithm="HS256"),  # the library's
        jwt.encode({"sub": 7, "sid": "sid-1", "exp": 4102444800}, STRONG_KEY, algorithm="HS256"),
        "not-a-jwt",
        "a.b.c",
        "",
    ],
)
def test_crafted_tokens_are_refused_without_raising(token):
    assert read_token(token, STRONG_KEY) is None


def test_a_token_expires_with_its_lifetime():
    then = datetime.now(UTC) - timedelta(hours=13)
    assert read_token(issue_token("dr.smith", "sid-1", STRONG_KEY, timedelta(hours=12), now=then), STRONG_KEY) is None
