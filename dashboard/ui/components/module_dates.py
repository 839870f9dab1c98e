"""The module dates table (due, started, completed, state), shown the same way on the
therapist's, GP's and lead's patient page and on the peer supporter's."""

from collections.abc import Callable

import pandas as pd
import streamlit as st


def module_dates_table(timeline: pd.DataFrame, day: Callable[[object], str]) -> None:
    """One row per module of ``patient.module_timeline``, each date through ``day``."""
    st.dataframe(
        timeline.assign(
            due=[day(t) for t in timeline["due_at"]],
            started=[day(t) for t in timeline["started_at"]],
            completed=[day(t) for t in timeline["completed_at"]],
        )[["position", "title", "due", "started", "completed", "state"]],
        hide_index=True,
        width="stretch",
        column_config={
            "position": st.column_config.NumberColumn("#", width="small"),
            "title": "Module",
            "due": "Due",
            "started": "Started",
            "completed": "Completed",
            "state": "State",
        },
    )
