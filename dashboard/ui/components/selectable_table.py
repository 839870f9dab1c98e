"""A patient list the clinician picks one row from: the one way every page draws it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.ui.views import table_height


def selected_row(table: pd.DataFrame, key: str, column_config: dict) -> int | None:
    """Draw ``table`` with single-row selection and return the position of the row the
    clinician selected, or None. The caller puts its state version in ``key`` where a
    write reorders the rows, so a fresh table never keeps a stale selection."""
    event = st.dataframe(
        table,
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        hide_index=True,
        width="stretch",
        height=table_height(len(table)),
        column_config=column_config,
    )
    return event.selection.rows[0] if event.selection.rows else None
