"""Credentials file handling and the production-mode refusals.

The YAML (streamlit-authenticator's format, kept as is) holds credentials and
the cookie settings only; roles and teams come from the platform's
``clinicians`` table. Usernames are compared only in their normalised form
(``normalise_username``), here, at login and against ``clinicians.username``.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dashboard.config import DEMO_AUTH_FILE

BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
# Keys that ship with code (ours and the library's default) are public knowledge.
KNOWN_COOKIE_KEYS = frozenset({"some_key", "some_signature_key", "random_signature_key", "abcdef"})
# A random key of 32+ bytes carries far more; a key under this (Shannon estimate
# over its characters) is a pattern, not a secret, whatever its length.
MIN_KEY_ENTROPY_BITS = 128
MIN_KEY_DISTINCT_CHARS = 8
DEFAULT_EXPIRY_DAYS = 0.5  # 12 hours, the default bound (setting max_cookie_hours)


class AuthFileError(ValueError):
    """The credentials file cannot be used; the message says why."""


def normalise_username(name: str) -> str:
    """The one spelling of a login name used for lookups, lockout counting and
    the clinician match: Unicode NFKC, surrounding spaces removed, lower case
    (the same lower case as SQL ``lower()`` for ASCII names)."""
    return unicodedata.normalize("NFKC", str(name)).strip().lower()


@dataclass(frozen=True)
class AuthFile:
    credentials: dict[str, Any]
    cookie_name: str
    cookie_key: str
    expiry_days: float

    @property
    def usernames(self) -> list[str]:
        return list(self.credentials.get("usernames", {}))

    def password_hashes(self) -> dict[str, str]:
        """Normalised username -> stored bcrypt hash (what a login is checked against)."""
        return {
            normalise_username(user): str((entry or {}).get("password", ""))
            for user, entry in self.credentials.get("usernames", {}).items()
        }

    def display_name(self, username: str) -> str:
        for user, entry in self.credentials.get("usernames", {}).items():
            if normalise_username(user) == username:
                entry = entry or {}
                return " ".join(str(entry.get(k, "")) for k in ("first_name", "last_name")).strip() or username
        return username


def file_stamp(path: Path) -> tuple[int, int, int]:
    """What changes when the file is edited or replaced (mtime, size, inode): the
    app re-reads the credentials file whenever this differs, on every run."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise AuthFileError(f"Credentials file {path} does not exist (DASHBOARD_AUTH_FILE)") from None
    return st.st_mtime_ns, st.st_size, st.st_ino


def load_auth_file(path: Path) -> AuthFile:
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise AuthFileError(f"Credentials file {path} does not exist (DASHBOARD_AUTH_FILE)") from None
    except yaml.YAMLError as exc:
        raise AuthFileError(f"Credentials file {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("credentials", {}).get("usernames"), dict):
        raise AuthFileError(f"Credentials file {path} has no credentials.usernames section")
    cookie = raw.get("cookie") or {}
    try:
        expiry_days = float(cookie.get("expiry_days", DEFAULT_EXPIRY_DAYS))
    except (TypeError, ValueError):
        raise AuthFileError(f"Credentials file {path}: cookie.expiry_days must be a number of days") from None
    return AuthFile(
        credentials=raw["credentials"],
        cookie_name=str(cookie.get("name", "caseboard_auth")),
        cookie_key=str(cookie.get("key", "")),
        expiry_days=expiry_days,
    )


def demo_usernames() -> frozenset[str]:
    return frozenset(normalise_username(u) for u in load_auth_file(DEMO_AUTH_FILE).usernames)


def demo_password_hashes() -> frozenset[str]:
    """The demo users' hashes are published with the code: the demo password opens them."""
    return frozenset(load_auth_file(DEMO_AUTH_FILE).password_hashes().values())


def demo_cookie_key() -> str:
    return load_auth_file(DEMO_AUTH_FILE).cookie_key


def key_entropy_bits(key: str) -> float:
    """Shannon estimate of the key's information: length x bits per character seen."""
    if not key:
        return 0.0
    counts, n = Counter(key), len(key)
    return -n * sum(c / n * math.log2(c / n) for c in counts.values())


def is_repetition(key: str) -> bool:
    """True for a key that is a shorter piece repeated ("abcabcabc...")."""
    return len(key) > 1 and (key + key).find(key, 1) < len(key)


def production_problems(auth: AuthFile, min_key_bytes: int, max_cookie_hours: float = 12) -> list[str]:
    """Why this credentials file must not be used in production; empty if fine."""
    problems = []
    users = auth.credentials["usernames"]
    not_normal = sorted(user for user in users if user != normalise_username(user))
    if not_normal:
        problems.append(
            "usernames must be written in their normalised form (lower case, no surrounding spaces), "
            f"found: {', '.join(map(repr, not_normal))}"
        )
    demo = sorted({normalise_username(u) for u in users} & demo_usernames())
    if demo:
        problems.append(f"demo users are not allowed in production: {', '.join(demo)}")
    published = demo_password_hashes()
    demo_hashed = sorted(user for user, entry in users.items() if str((entry or {}).get("password", "")) in published)
    if demo_hashed:
        problems.append(f"the published demo password hash is used for: {', '.join(demo_hashed)}")
    key = auth.cookie_key
    if not key or key in KNOWN_COOKIE_KEYS or key == demo_cookie_key():
        problems.append("the cookie key is missing or a published default; set cookie.key to a random secret")
    elif len(key.encode()) < min_key_bytes:
        problems.append(f"the cookie key is {len(key.encode())} bytes; use at least {min_key_bytes} random bytes")
    elif len(set(key)) < MIN_KEY_DISTINCT_CHARS or is_repetition(key) or key_entropy_bits(key) < MIN_KEY_ENTROPY_BITS:
        problems.append(
            "the cookie key is a pattern, not a random secret (too few distinct characters or a "
            "repetition); generate one, e.g. python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    if auth.expiry_days * 24 > max_cookie_hours:
        problems.append(
            f"cookie.expiry_days is {auth.expiry_days:g} days ({auth.expiry_days * 24:g} hours); "
            f"production allows at most {max_cookie_hours:g} hours (setting max_cookie_hours)"
        )
    plain = sorted(
        user for user, entry in users.items() if not BCRYPT_HASH.match(str((entry or {}).get("password", "")))
    )
    if plain:
        problems.append(f"passwords must be bcrypt hashes, found plain text for: {', '.join(plain)}")
    return problems
