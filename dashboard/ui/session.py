"""What a browser session keeps between runs that more than one page reads.

``data_version`` is bumped by each of the viewer's own writes (an acknowledgement,
a follow-up, a correction) and is part of the key of every cached page read, so
their next page shows what they wrote at once without clearing anyone else's cache.
"""

from __future__ import annotations

import streamlit as st

DATA_VERSION = "data_version"


def data_version() -> int:
    return st.session_state.setdefault(DATA_VERSION, 0)


def bump_data_version() -> int:
    """After a write of this viewer: their next reads skip the cache. Returns the new version."""
    st.session_state[DATA_VERSION] = data_version() + 1
    return st.session_state[DATA_VERSION]
