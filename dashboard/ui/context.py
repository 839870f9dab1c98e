"""What a page needs to run, set by the entry point after login."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st
from sqlalchemy import Engine

from dashboard.config import Config
from dashboard.scope import Viewer

_KEY = "caseboard_context"


@dataclass(frozen=True)
class AppContext:
    config: Config
    platform: Engine  # read-only platform database
    state: Engine  # dash_ tables
    viewer: Viewer


def set_context(ctx: AppContext) -> None:
    st.session_state[_KEY] = ctx


def get_context() -> AppContext:
    ctx = st.session_state.get(_KEY)
    if ctx is None:  # a page script run on its own, outside the entry point
        st.error("Open Caseboard through its start page.")
        st.stop()
    return ctx
