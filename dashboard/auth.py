"""Credentials file handling and the production-mode refusals.

The YAML (streamlit-authenticator's format) holds credentials and the cookie
settings only; roles and teams come from the platform's ``clinicians`` table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from dashboard.config import DEMO_AUTH_FILE

BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")
# Keys that ship with code (ours and the library's default) are public knowledge.
KNOWN_COOKIE_KEYS = frozenset({"some_key", "some_signature_key", "random_signature_key", "abcdef"})


class AuthFileError(ValueError):
    """The credentials file cannot be used; the message says why."""


@dataclass(frozen=True)
class AuthFile:
    credentials: dict[str, Any]
    cookie_name: str
    cookie_key: str
    expiry_days: float

    @property
    def usernames(self) -> list[str]:
        return list(self.credentials.get("usernames", {}))


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
    return AuthFile(
        credentials=raw["credentials"],
        cookie_name=str(cookie.get("name", "caseboard_auth")),
        cookie_key=str(cookie.get("key", "")),
        expiry_days=float(cookie.get("expiry_days", 1)),
    )


def demo_usernames() -> frozenset[str]:
    return frozenset(load_auth_file(DEMO_AUTH_FILE).usernames)


def demo_cookie_key() -> str:
    return load_auth_file(DEMO_AUTH_FILE).cookie_key


def production_problems(auth: AuthFile, min_key_bytes: int) -> list[str]:
    """Why this credentials file must not be used in production; empty if fine."""
    problems = []
    demo = sorted(demo_usernames() & set(auth.usernames))
    if demo:
        problems.append(f"demo users are not allowed in production: {', '.join(demo)}")
    key = auth.cookie_key
    if not key or key in KNOWN_COOKIE_KEYS or key == demo_cookie_key():
        problems.append("the cookie key is missing or a published default; set cookie.key to a random secret")
    elif len(key.encode()) < min_key_bytes:
        problems.append(f"the cookie key is {len(key.encode())} bytes; use at least {min_key_bytes} random bytes")
    plain = sorted(
        user for user, entry in auth.credentials["usernames"].items()
        if not BCRYPT_HASH.match(str((entry or {}).get("password", "")))
    )
    if plain:
        problems.append(f"passwords must be bcrypt hashes, found plain text for: {', '.join(plain)}")
    return problems
