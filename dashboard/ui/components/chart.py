"""A chart drawn from its cached spec (dashboard.ui.cached.chart_spec)."""

from __future__ import annotations

import streamlit as st

from dashboard.scope import Viewer
from dashboard.ui import cached


def chart(viewer: Viewer, builder: str, *args) -> None:
    """Draw ``charts.<builder>(*args)`` across the page's width."""
    st.vega_lite_chart(cached.chart_spec(viewer, builder, *args), width="stretch")
