"""The data-quality note: which platform records were left out or adjusted, and how
(dashboard.quality). The team-wide note is the team lead's (and ``caseboard
quality``'s): on every list page of every clinician it was noise nobody acts on.
The Patient page's note, about that one patient, is shown to everyone: it says why
a risk item or a score could not be read."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.i18n import gettext as _
from dashboard.i18n import ngettext


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
        ).format(n=hit)
    with st.expander(label, icon=":material/warning:"):
        st.caption(
            _(
                "Caseboard leaves out or adjusts these rows, as said below, and shows everything else. "
                "Correct them on the platform."
            )
        )
        table = pd.DataFrame(
            {  # the problem and effect words are dashboard.quality's (the domain slice)
                _("Problem"): issues["problem"],
                _("What Caseboard did"): issues["effect"],
                _("Rows"): issues["rows"],
            }
        )
        if not patient_page:
            table.insert(1, _("Patients"), [", ".join(codes) for codes in issues["codes"]])
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            column_config={
                _("Problem"): st.column_config.TextColumn(width="medium"),
                _("Patients"): st.column_config.TextColumn(width="medium"),
            },
        )
        if questionnaires is not None and not questionnaires.empty:
            n = len(questionnaires)
            st.markdown(
                "**"
                + ngettext("{n} questionnaire with problems", "{n} questionnaires with problems", n).format(n=n)
                + "**"
            )
            st.dataframe(questionnaires, hide_index=True, width="stretch")
