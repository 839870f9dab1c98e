"""The data-quality note: which platform records were left out or adjusted, and how
(dashboard.quality). The team-wide note is the team lead's (and ``caseboard
quality``'s): on every list page of every clinician it was noise nobody acts on.
The Patient page's note, about that one patient, is shown to everyone: it says why
a risk item or a score could not be read."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.text import count_of


def team_quality_note(role: str, issues: pd.DataFrame) -> None:
    """The list pages' note, for team leads only (they have the platform corrected)."""
    if role == "team_lead":
        quality_note(issues)


def quality_note(issues: pd.DataFrame, patient_page: bool = False, questionnaires: pd.DataFrame | None = None) -> None:
    """Nothing when the records are clean; otherwise a collapsed warning the
    clinician can open to see which records to correct on the platform. The
    patient page adds its questionnaires with problems, one row each."""
    if issues.empty:
        return
    if patient_page:
        label = f"Data quality: {count_of(len(issues), 'problem')} in this patient's platform records"
    else:
        hit = len({code for codes in issues["codes"] for code in codes})
        label = f"Data quality: problems in the platform records of {count_of(hit, 'patient')}"
    with st.expander(label, icon=":material/warning:"):
        st.caption(
            "Caseboard leaves out or adjusts these rows, as said below, and shows everything else. "
            "Correct them on the platform."
        )
        table = pd.DataFrame(
            {"Problem": issues["problem"], "What Caseboard did": issues["effect"], "Rows": issues["rows"]}
        )
        if not patient_page:
            table.insert(1, "Patients", [", ".join(codes) for codes in issues["codes"]])
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Problem": st.column_config.TextColumn(width="medium"),
                "Patients": st.column_config.TextColumn(width="medium"),
            },
        )
        if questionnaires is not None and not questionnaires.empty:
            st.markdown(f"**{count_of(len(questionnaires), 'questionnaire')} with problems**")
            st.dataframe(questionnaires, hide_index=True, width="stretch")
