"""The pages each role may use, and moving between them.

Pages are registered per role on every run: a page missing from a role's dict
cannot be reached by URL (docs/streamlit-notes.md, Navigation).
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.i18n import N_
from dashboard.i18n import gettext as _
from dashboard.scope import Viewer

PAGES_DIR = Path(__file__).resolve().parents[2] / "pages"
PATIENT_SCRIPT = PAGES_DIR / "patient.py"
PATIENT_URL = "patient"  # deep link: /patient?patient=CODE (&record=ID when two records share the code)


# Pages per role, the first being the role's landing page (docs/design.md: therapist ->
# Triage; team lead -> Caseload; GP -> Follow-ups; peer supporter -> Who to contact).
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    "therapist": ("triage", "my_patients"),
    "team_lead": ("caseload", "triage", "my_patients", "audit"),
    "gp": ("followups", "my_patients"),
    "peer_supporter": ("contact",),
}
PAGES = {  # key: (file, title in English, translated where shown; icon, url path)
    "caseload": ("caseload.py", N_("Caseload"), ":material/monitoring:", "caseload"),
    "triage": ("triage.py", N_("Triage"), ":material/notification_important:", "triage"),
    "followups": ("followups.py", N_("Follow-ups"), ":material/event_available:", "followups"),
    "my_patients": ("my_patients.py", N_("My patients"), ":material/groups:", "patients"),
    "audit": ("audit.py", N_("Audit"), ":material/policy:", "audit"),
    "contact": ("contact.py", N_("Who to contact"), ":material/forum:", "contact"),
}
PATIENT_TITLE = N_("Patient")


HOME_URL = "home"  # the app's root; it opens the role's landing page at that page's own address
HEADINGS = {  # each page's title on the page, for the notice that names it
    "caseload": N_("Caseload"),
    "triage": N_("Triage"),
    "followups": N_("Follow-ups due"),
    "my_patients": N_("My patients"),
    "audit": N_("Audit trail"),
    "contact": N_("Who to contact today"),
}
ROLE_WORDS = {  # (one, many), lower case as inside a sentence
    "gp": (N_("GP"), N_("GPs")),
    "therapist": (N_("therapist"), N_("therapists")),
    "team_lead": (N_("team lead"), N_("team leads")),
    "peer_supporter": (N_("peer supporter"), N_("peer supporters")),
}


def not_your_page(key: str, role: str) -> str:
    """Why another role's page shows nothing: what it is and whom it is for."""
    owners = [_(ROLE_WORDS[r][1]) for r, keys in ROLE_PAGES.items() if key in keys]
    listed = (
        owners[0] if len(owners) == 1 else _("{items} and {last}").format(items=", ".join(owners[:-1]), last=owners[-1])
    )
    return _("{page} is a page for {owners}, so it is not open to you as a {role}.").format(
        page=_(HEADINGS[key]), owners=listed, role=_(ROLE_WORDS[role][0])
    )


def pages_for(viewer: Viewer) -> dict[str, list[st.Page]]:
    """The role's pages. Streamlit serves its default page only at the root and drops
    that page's url_path, so a landing page made the default answered "Page not found"
    at its own address (/triage, /caseload, /followups: a bookmark, a link, a lead's
    menu). The default is a hidden root page that switches to the landing page instead."""
    keys = ROLE_PAGES.get(viewer.role, ())
    pages = [
        st.Page(PAGES_DIR / PAGES[k][0], title=_(PAGES[k][1]), icon=PAGES[k][2], url_path=PAGES[k][3]) for k in keys
    ]
    if pages:
        landing = pages[0]

        def open_landing() -> None:
            st.switch_page(landing)

        pages.insert(0, st.Page(open_landing, title="Caseboard", url_path=HOME_URL, default=True, visibility="hidden"))
        # another role's address (a colleague's link, a bookmark) says so instead of "Page not found"
        pages += [
            st.Page(
                _not_yours(k, viewer.role, landing),
                title=_("{page} (not available)").format(page=_(PAGES[k][1])),
                url_path=PAGES[k][3],
                visibility="hidden",
            )
            for k in PAGES
            if k not in keys
        ]
        # the patient page is opened from a list or a deep link, never from the menu
        pages.append(
            st.Page(
                PATIENT_SCRIPT,
                title=_(PATIENT_TITLE),
                icon=":material/person:",
                url_path=PATIENT_URL,
                visibility="hidden",
            )
        )
    return {"": pages}


def _not_yours(key: str, role: str, landing: st.Page):
    """The page shown at another role's address: why it is empty, and the way to one's own."""

    def not_yours() -> None:
        st.title(_("Not one of your pages"))
        st.info(not_your_page(key, role) + " " + _("Your own pages are in the menu."), icon=":material/block:")
        st.page_link(landing, label=_("Go to {page}").format(page=landing.title), icon=":material/arrow_forward:")

    return not_yours


def patient_params(code: str, patient_id: int | None = None) -> dict[str, str]:
    """The patient page's query parameters. Lists pass the record's id too: a platform
    view may give two patients one code, and the row the clinician chose must open that record."""
    return {"patient": code} if patient_id is None else {"patient": code, "record": str(int(patient_id))}


def open_patient(code: str, patient_id: int | None = None) -> None:
    """Open the patient page (from a selected row or a button)."""
    st.switch_page(PATIENT_SCRIPT, query_params=patient_params(code, patient_id))


def log_title(url_path: str, role: str) -> str:
    """The page's English title for the ``script_run`` log, whatever language it was shown in."""
    by_url = {url: (key, title) for key, (_file, title, _icon, url) in PAGES.items()}
    if url_path in by_url:
        key, title = by_url[url_path]
        return title if key in ROLE_PAGES.get(role, ()) else f"{title} (not available)"
    return PATIENT_TITLE if url_path == PATIENT_URL else "Caseboard"


def page_urls() -> list[str]:
    """Every page's URL path, for the login form to answer at before login."""
    return [url for _file, _title, _icon, url in PAGES.values()] + [PATIENT_URL]
