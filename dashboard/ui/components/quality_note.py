"""The data-quality note: which platform records were left out or adjusted, and how
(dashboard.quality). The team-wide note is the team lead's (and ``caseboard
quality``'s): on every list page of every clinician it was noise nobody acts on.
The Patient page's note, about that one patient, is shown to everyone: it says why
a risk item or a score could not be read."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.i18n import format_number, ngettext
from dashboard.i18n import gettext as _
from dashboard.quality import words


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
        label = ngettext(
            "Data quality: {n} problem in this patient's platform records",
            "Data quality: {n} problems in this patient's platform records",
            len(issues),
        ).format(n=len(issues))
    else:
        hit = len({code for codes in issues["codes"] for code in codes})
        label = ngettext(
            "Data quality: problems in the platform records of {n} patient",
            "Data quality: problems in the platform records of {n} patients",
            hit,
        ).format(n=format_number(hit))
    with st.expander(label, icon=":material/warning:"):
        st.caption(
            _(
                "Caseboard leaves out or adjusts these rows, as said below, and shows everything else. "
                "Correct them on the platform."
            )
        )
        said = [words(k, p, e) for k, p, e in zip(issues["check"], issues["problem"], issues["effect"])]
        table = pd.DataFrame(  # the data's column names stay English; their labels are translated
            {
                "Problem": [p for p, _e in said],
                "What Caseboard did": [e for _p, e in said],
                "Rows": issues["rows"].to_numpy(),
            }
        )
        if not patient_page:
            table.insert(1, "Patients", [", ".join(codes) for codes in issues["codes"]])
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                "Problem": st.column_config.TextColumn(_("Problem"), width="medium"),
                "Patients": st.column_config.TextColumn(_("Patients"), width="medium"),
                "What Caseboard did": st.column_config.TextColumn(_("What Caseboard did")),
                "Rows": st.column_config.NumberColumn(_("Rows")),
            },
        )
        if questionnaires is not None and not questionnaires.empty:
            st.markdown(
                "**"
                + ngettext(
                    "{n} questionnaire with problems", "{n} questionnaires with problems", len(questionnaires)
                ).format(n=len(questionnaires))
                + "**"
            )
            st.dataframe(questionnaires, hide_index=True, width="stretch")
