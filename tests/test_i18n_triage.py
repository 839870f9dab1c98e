"""The Triage page and its handling form in another language (issue 21): Swedish
words asserted literally, and in the pseudo-locale every word shown goes through
the catalogs (both backends, through ``app_platform``)."""

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import i18n
from dashboard.flags import FLAG_KINDS
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_state_key
from tests.factory import CLINICIANS
from tests.pseudo import unmarked_texts
from tests.test_i18n import column_labels

TRIAGE_COLUMNS = ("code", "escalated", "waiting_days", "why", "latest")
NAMES = {name for _id, _user, name, _role, _team in CLINICIANS} | {"RISKY", "WAITING", "NOBODY"}


def open_dialog(at: AppTest) -> AppTest:
    at.session_state[table_state_key(at, "triage_table_")] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    return at.run()


def triage_in(app_platform, monkeypatch, code: str, username: str = "ther.a") -> AppTest:
    monkeypatch.setenv("DASHBOARD_LANGUAGE", code)  # no stored choice: the setting decides
    risky = app_platform.patient("RISKY", enrolled_days_ago=10)
    app_platform.phq9(risky, 6, 14, item9=2)  # escalated: past one working day
    waiting = app_platform.patient("WAITING", enrolled_days_ago=10)
    app_platform.message(waiting, 3, "from_patient")
    app_platform.patient("NOBODY", therapist=None, enrolled_days_ago=20)
    at = logged_in(username)
    if username != "ther.a":
        at.switch_page(str(PAGES_DIR / "triage.py")).run()
    assert not at.exception, at.exception
    return at


def test_triage_and_its_handling_form_speak_swedish(app_platform, monkeypatch):
    at = triage_in(app_platform, monkeypatch, "sv")
    assert at.title[0].value == "Triage"
    assert column_labels(at, *TRIAGE_COLUMNS) == {
        "code": "Patient",
        "escalated": "Eskalerad",
        "waiting_days": "Väntat",
        "why": "Varför",
        "latest": "Senaste poäng",
    }
    captions = [c.value for c in at.caption]
    assert "2 patienter behöver dig · välj en rad för att se anledningarna och markera dem som hanterade" in captions
    assert "2 patienter · tryck på en kod för att öppna patienten" in captions
    assert any(
        e.value.startswith("1 patient med ett risksvar eller en stödpersons oro som inte kvitterats inom 1 arbetsdag.")
        for e in at.error
    )

    at = open_dialog(at)
    assert at.subheader[0].value == "RISKY"
    assert any(b.label == "Öppna patientsidan" for b in at.button)
    labels = [t.label for t in at.text_area]
    assert "Anteckning för risksvaret (krävs om ikryssad: vad som gjordes)" in labels
    next(c for c in at.checkbox if c.value is False).check()  # the risk answer, never preselected
    next(t for t in at.text_area if t.label.startswith("Anteckning för risksvaret")).input("ok")
    next(b for b in at.button if b.label == "Markera valda som hanterade").click()
    at.run()
    assert any(
        e.value == "En riskkvittering behöver en anteckning på minst 10 tecken om vad som gjordes; teamet kan läsa den."
        for e in at.error
    ), [e.value for e in at.error]


def test_a_team_lead_sees_the_filter_and_the_therapist_column_in_swedish(app_platform, monkeypatch):
    at = triage_in(app_platform, monkeypatch, "sv", "lead.a")
    box = at.selectbox(key="triage_therapist")
    assert box.label == "Behandlare"
    assert box.options[0] == "Alla behandlare" and box.options[-1] == "ej tilldelad"
    assert column_labels(at, "therapist")["therapist"] == "Behandlare"


# Words other helpers translate meanwhile (issue 21): flag titles and reasons
# (dashboard/flags.py, dashboard/ui/views.py: the "domain" helper), the freshness line
# (timeutil.freshness_line), the latest score's words (measures), the data-quality note
# (quality.py). Tighten after the merge by removing this filter.
OTHERS = {
    *(kind.title for kind in FLAG_KINDS.values()),
    "PHQ-9 item 9 answered 2 on",  # a risk reason (flags.py)
    "Patient message unanswered for 3 days",  # an awaiting-reply reason (flags.py)
    "no clinician contact yet",  # a no-contact reason (flags.py)
    "No module started after enrolment",  # a not-started reason (flags.py)
    "quality problems in the platform records patient",  # the data-quality note (quality.py)
    "moderate",  # the latest score's band (measures)
    "Data as of on",  # timeutil.freshness_line
}


QUALITY_NOTE = "Caseboard leaves out or adjusts"  # the team's data-quality note (quality.py)


def others_removed(texts: list[str]) -> list[str]:
    words = {w for phrase in OTHERS for w in phrase.split()}
    texts = [t for t in texts if not t.startswith(QUALITY_NOTE)]
    left = [" ".join(w for w in t.split() if w not in words) for t in texts]
    return [t for t in left if t]


@pytest.mark.parametrize("username", ["ther.a", "lead.a"])
def test_the_triage_page_goes_through_the_catalogs(app_platform, monkeypatch, username):
    at = triage_in(app_platform, monkeypatch, i18n.PSEUDO, username)
    assert others_removed(unmarked_texts(at, NAMES)) == [], others_removed(unmarked_texts(at, NAMES))
    at = open_dialog(at)
    assert not at.exception, at.exception
    assert others_removed(unmarked_texts(at, NAMES)) == [], others_removed(unmarked_texts(at, NAMES))
