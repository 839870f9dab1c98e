"""A chart drawn from its Vega-Lite spec (dashboard.charts)."""

from __future__ import annotations

import streamlit as st


def chart(spec: dict) -> None:
    """Draw ``spec`` across the page's width. Specs are built on every run, not cached:
    a build takes a few milliseconds, less than st.cache_data takes to hash its frames."""
    st.vega_lite_chart(spec, width="stretch")
