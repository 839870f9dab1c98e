"""The login cookie's token: a JWT signed with the credentials file's cookie key.

It carries the username (``sub``), the server-side session id (``sid``) and an
expiry (``exp``). The token only names a session: whether that session still
logs in is decided by its record in ``dash_sessions`` (dashboard.sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    username: str
    session_id: str


def issue_token(username: str, session_id: str, key: str, lifetime: timedelta, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return jwt.encode({"sub": username, "sid": session_id, "exp": now + lifetime}, key, algorithm=ALGORITHM)


def read_token(token: str | None, key: str) -> TokenClaims | None:
    """The claims of a token this service signed and that has not expired; None for
    anything else (unsigned ``alg: none``, another key, expired, a text expiry,
    missing claims, not a JWT at all). Never raises: a crafted cookie must not
    stop the login page from rendering."""
    if not token or not key:
        return None
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "sid", "exp"]})
    except (jwt.PyJWTError, TypeError, ValueError):
        return None
    sub, sid = claims.get("sub"), claims.get("sid")
    if not isinstance(sub, str) or not isinstance(sid, str) or not sub or not sid:
        return None
    return TokenClaims(sub, sid)
