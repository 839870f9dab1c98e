"""The pages each role may use, and moving between them.

Pages are registered per role on every run: a page missing from a role's dict
cannot be reached by URL (../shared/streamlit-notes.md, Navigation).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.scope import Viewer

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"
PATIENT_URL = "patient"  # deep link: /patient?patient=CODE


def pages_for(viewer: Viewer) -> dict[str, list[st.Page]]:
    my_patients = st.Page(PAGES_DIR / "my_patients.py", title="My patients", icon=":material/groups:",
                          url_path="patients", default=True)
    patient = st.Page(PAGES_DIR / "patient.py", title="Patient", icon=":material/person:", url_path=PATIENT_URL,
                      visibility="hidden")
    return {"": [my_patients, patient]}


def open_patient(code: str) -> None:
    st.switch_page(PAGES_DIR / "patient.py", query_params={"patient": code})
