"""Writing and deleting the login cookie from the server.

Streamlit can read the browser's cookies (``st.context.cookies``, as sent when
the session connected) but not set them, so a small component does it in the
browser: the cookie frontend that ships with extra-streamlit-components (the
one streamlit-authenticator uses), declared here under Caseboard's own name and
rendered only in the run that sets or deletes the cookie. A script writes the
cookie, so it cannot be HttpOnly: the server-side session record
(dashboard.sessions) is what a stolen or replayed token runs into.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path

import extra_streamlit_components
import streamlit as st
import streamlit.components.v1 as components
from streamlit.delta_generator import DeltaGenerator

BUILD = Path(extra_streamlit_components.__file__).resolve().parent / "CookieManager" / "frontend" / "build"
_component = components.declare_component("caseboard_cookie", path=str(BUILD))
# The component draws nothing; hide its zero-height frame's gap.
HIDE_CSS = '<style>.element-container:has(iframe[height="0"]){display:none}</style>'
_slot: ContextVar[DeltaGenerator | None] = ContextVar("cookie_slot", default=None)


@contextmanager
def fixed_slot() -> Iterator[None]:
    """One place for the component at the top of every run, drawn into or left empty.

    Drawn in line, the component shifted the page below it in the run that deleted the
    cookie, and the next run (the login form again) left the shifted copy on screen
    beside the new one until it ended: two identical notices at once. Outside a run (a
    button's callback) there is no slot and the component is drawn where it is called."""
    token = _slot.set(st.empty())
    try:
        yield
    finally:
        _slot.reset(token)


def _draw(**kwargs: object) -> None:
    slot = _slot.get()
    if slot is None:
        _component(**kwargs)
        return
    with slot:
        _component(**kwargs)


def _secure() -> bool:
    """Mark the cookie Secure when the browser reached us over HTTPS (directly or via the proxy)."""
    proto = (st.context.headers.get("X-Forwarded-Proto") or "").lower()
    return proto == "https" or str(st.context.url or "").startswith("https:")


def set_cookie(name: str, value: str, expires_at: datetime, key: str) -> None:
    """Store the cookie (path /, SameSite=Strict, Secure over HTTPS) until ``expires_at`` (aware)."""
    options = {"path": "/", "expires": expires_at.isoformat(), "sameSite": "strict"}
    if _secure():
        options["secure"] = True
    _draw(method="set", cookie=name, value=value, options=options, key=key, default=False)


def delete_cookie(name: str, key: str) -> None:
    _draw(method="delete", cookie=name, key=key, default=False)
