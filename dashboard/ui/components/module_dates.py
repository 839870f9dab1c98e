"""The module dates table (due, started, completed, state), shown the same way on the
therapist's, GP's and lead's patient page and on the peer supporter's, and the weekly
engagement table's column labels both pages share."""

from collections.abc import Callable

import pandas as pd
import streamlit as st

from dashboard.i18n import N_
from dashboard.i18n import gettext as _

# patient.module_timeline's state codes (English words kept as data), translated where shown
STATES = (
    N_("completed late"),
    N_("completed"),
    N_("overdue (started)"),
    N_("overdue (not started)"),
    N_("in progress"),
    N_("not started"),
)


def state_words(code: str) -> str:
    """A module state in the run's language (an unknown code as it is)."""
    return _(code) if code in STATES else code


def module_dates_table(timeline: pd.DataFrame, day: Callable[[object], str]) -> None:
    """One row per module of ``patient.module_timeline``, each date through ``day``."""
    st.dataframe(
        timeline.assign(
            due=[day(t) for t in timeline["due_at"]],
            started=[day(t) for t in timeline["started_at"]],
            completed=[day(t) for t in timeline["completed_at"]],
            state=[state_words(c) for c in timeline["state"]],
        )[["position", "title", "due", "started", "completed", "state"]],
        hide_index=True,
        width="stretch",
        column_config={
            "position": st.column_config.NumberColumn("#", width="small"),
            "title": _("Module"),
            "due": _("Due"),
            "started": _("Started"),
            "completed": _("Completed"),
            "state": _("State"),
        },
    )


def weekly_labels() -> dict[str, str]:
    """The weekly engagement table's columns (patient.engagement) as the page shows them."""
    return {
        "week": _("Week"),
        "logins": _("Logins"),
        "exercises": _("Exercises"),
        "from_patient": _("Messages from patient"),
        "to_patient": _("Messages from clinician"),
        "from_peer": _("Messages from peer supporter"),
    }
