"""The patient page's "Download FHIR (JSON)" for the GP and the therapist: the
patient's outcomes and GP follow-ups as a FHIR R4 Bundle for the GP's record
(dashboard.fhir), built and audited only on click, like every export
(dashboard.exports). Where the export is refused, the page says why instead."""

from __future__ import annotations

import streamlit as st

from dashboard import fhir
from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.patient import Patient
from dashboard.text import md
from dashboard.ui.context import AppContext

LABEL = N_("Download FHIR (JSON)")


def fhir_download(ctx: AppContext, patient: Patient) -> None:
    if ctx.viewer.role not in fhir.MAY_EXPORT:
        return
    system = ctx.config.fhir_identifier_system
    if (why := fhir.refusal(ctx.platform, ctx.viewer, patient.patient_id, system)) is not None:
        st.caption(md(why))  # fhir.refusal's words (not this slice)
        return
    st.download_button(
        _(LABEL),
        fhir.audited_download(
            ctx.platform, ctx.state, ctx.viewer, patient.patient_id, ctx.config.settings, system, ctx.config.timezone
        ),
        file_name=fhir.file_name(patient),
        mime=fhir.MIME,
        on_click="ignore",
        icon=":material/download:",
        help=_(
            "For the GP's record: the scored PHQ-9 and GAD-7 (LOINC codes, items and totals), the other "
            "measures and the GP follow-ups, as one FHIR R4 transaction Bundle. The patient is their code, "
            "not their name."
        ),
    )
