"""The pages each role may use, and moving between them.

Pages are registered per role on every run: a page missing from a role's dict
cannot be reached by URL (docs/streamlit-notes.md, Navigation).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.scope import Viewer

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
PATIENT_SCRIPT = PAGES_DIR / "patient.py"
PATIENT_URL = "patient"  # deep link: /patient?patient=CODE (&record=ID when two records share the code)


# Pages per role, the first being the role's landing page (docs/design.md: therapist ->
# Triage; team lead -> Caseload; GP -> Follow-ups).
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "therapist": ("triage", "my_patients"),
    "team_lead": ("caseload", "triage", "my_patients", "audit"),
    "gp": ("followups", "my_patients"),
}
PAGES = {  # key: (file, title, icon, url path)
    "caseload": ("caseload.py", "Caseload", ":material/monitoring:", "caseload"),
    "triage": ("triage.py", "Triage", ":material/notification_important:", "triage"),
    "followups": ("followups.py", "Follow-ups", ":material/event_available:", "followups"),
    "my_patients": ("my_patients.py", "My patients", ":material/groups:", "patients"),
    "audit": ("audit.py", "Audit", ":material/policy:", "audit"),
}


HOME_URL = "home"  # the app's root; it opens the role's landing page at that page's own address


def pages_for(viewer: Viewer) -> dict[str, list[st.Page]]:
    """The role's pages. Streamlit serves its default page only at the root and drops
    that page's url_path, so a landing page made the default answered "Page not found"
    at its own address (/triage, /caseload, /followups: a bookmark, a link, a lead's
    menu). The default is a hidden root page that switches to the landing page instead."""
    keys = ROLE_PAGES.get(viewer.role, ())
    pages = [st.Page(PAGES_DIR / PAGES[k][0], title=PAGES[k][1], icon=PAGES[k][2], url_path=PAGES[k][3]) for k in keys]
    if pages:
        landing = pages[0]

        def open_landing() -> None:
            st.switch_page(landing)

        pages.insert(0, st.Page(open_landing, title="Caseboard", url_path=HOME_URL, default=True, visibility="hidden"))
        # the patient page is opened from a list or a deep link, never from the menu
        pages.append(
            st.Page(
                PATIENT_SCRIPT,
                title="Patient",
                icon=":material/person:",
                url_path=PATIENT_URL,
                visibility="hidden",
            )
        )
    return {"": pages}


def patient_params(code: str, patient_id: int | None = None) -> dict[str, str]:
    """The patient page's query parameters. Lists pass the record's id too: a platform
    view may give two patients one code, and the row the clinician chose must open that record."""
    return {"patient": code} if patient_id is None else {"patient": code, "record": str(int(patient_id))}


def open_patient(code: str, patient_id: int | None = None) -> None:
    """Open the patient page (from a selected row or a button)."""
    st.switch_page(PATIENT_SCRIPT, query_params=patient_params(code, patient_id))


def page_urls() -> list[str]:
    """Every page's URL path, for the login form to answer at before login."""
    return [url for _file, _title, _icon, url in PAGES.values()] + [PATIENT_URL]
