"""What a browser session keeps between runs that more than one page reads.

``data_version`` is bumped by each of the viewer's own writes (an acknowledgement,
a follow-up, a correction) and is part of the key of every cached page read, so
their next page shows what they wrote at once without clearing anyone else's cache.
"""

from __future__ import annotations

import hashlib

import streamlit as st

DATA_VERSION = "data_version"


def data_version() -> int:
    return st.session_state.setdefault(DATA_VERSION, 0)


def table_key(version: tuple) -> str:
    """A selectable table's widget key for this version of its data: when the rows may
    have changed (anyone's write, this session's re-read), the selection starts empty
    rather than pointing, by row number, at another patient."""
    return hashlib.sha1(repr(version).encode()).hexdigest()[:12]


def bump_data_version() -> int:
    """After a write of this viewer: their next reads skip the cache. Returns the new version."""
    st.session_state[DATA_VERSION] = data_version() + 1
    return st.session_state[DATA_VERSION]
