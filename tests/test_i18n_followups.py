"""Issue 21, the follow-ups slice: the GP's "Follow-ups due" page, the follow-up form,
the consultation agenda (panel and printable page) and the peer supporter's "Who to
contact today" page speak Swedish, and in the pseudo-locale nothing they show bypasses
the catalogs (both backends)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from dashboard import agenda, i18n
from dashboard.config import Settings
from dashboard.gp_followups import FollowupForm, validate
from dashboard.schema import clinicians, modules, patients, programs
from dashboard.scope import load_viewer
from tests import pseudo
from tests.apptest import logged_in, table_state_key
from tests.test_agenda import UTC, build_patient
from tests.test_contact_page import in_care
from tests.test_i18n import column_labels

DUE_COLUMNS = ("code", "alerts", "status", "waiting", "latest", "change", "finished")
CONTACT_COLUMNS = ("code", "waiting_days", "why", "therapist", "risk")


def platform_names(platform) -> set[str]:
    """Platform data a page may show untranslated: clinicians, programmes, modules, patients."""
    with platform.engine.connect() as conn:
        names = set(conn.scalars(select(clinicians.c.display_name)))
        names |= set(conn.scalars(select(programs.c.name)))
        names |= set(conn.scalars(select(modules.c.title)))
        names |= {n for n in conn.scalars(select(patients.c.display_name)) if n}
        names |= {n for n in conn.scalars(select(modules.c.summary)) if n}  # module summaries
    return names


def due_dialog(platform, monkeypatch, code: str):
    """gp.a's Follow-ups due with AG-1's dialog open (the agenda and the form)."""
    monkeypatch.setenv("DASHBOARD_LANGUAGE", code)
    pid = build_patient(platform)
    at = logged_in("gp.a")
    codes = list(at.dataframe[0].value["code"])
    at.session_state[table_state_key(at, "due_table_")] = {
        "selection": {"rows": [codes.index("AG-1")], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception, at.exception
    return at, pid


def contact_page(platform, monkeypatch, code: str):
    monkeypatch.setenv("DASHBOARD_LANGUAGE", code)
    in_care(platform, "PEER-1")
    in_care(platform, "PEER-2", therapist=None, item9=2)
    at = logged_in("peer.a")
    assert not at.exception, at.exception
    return at


def test_the_follow_ups_page_the_form_and_the_agenda_speak_swedish(app_platform, monkeypatch):
    at, pid = due_dialog(app_platform, monkeypatch, "sv")
    assert at.title[0].value == "Uppföljningar att göra"
    assert column_labels(at, *DUE_COLUMNS) == {
        "code": "Patient",
        "alerts": "Varningar",
        "status": "Status",
        "waiting": "Väntat",
        "latest": "Senaste poäng",
        "change": "Förändring",
        "finished": "Avslutade moduler",
    }
    assert "**1 patient** att följa upp" in [m.value for m in at.markdown]
    assert [s.value for s in at.subheader][:2] == ["Planerade uppföljningar", "Dina uppföljningar"]
    # the form
    assert at.number_input(key=f"fu_min_{pid}").label == "Minuter"
    assert at.selectbox(key=f"fu_mod_{pid}").label == "Hur"
    assert at.selectbox(key=f"fu_module_{pid}").label == "Modul som diskuterades"
    assert at.selectbox(key=f"fu_action_{pid}").label == "Åtgärd"
    assert list(at.selectbox(key=f"fu_action_{pid}").options) == [
        "Fortsätt",
        "Intensifiera vården",
        "Remittera vidare",
        "Pausa programmet",
    ]
    assert at.text_area(key=f"fu_note_{pid}").label == "Anteckning (valfritt)"
    assert any(b.label == "Spara uppföljning" for b in at.button)
    # the agenda panel
    assert any(e.label == "Besöksagenda" for e in at.expander)
    text = "\n".join(m.value for m in at.markdown)
    assert "**Moduler avslutade sedan senaste uppföljningen den" in text
    assert "**Poäng** (nu · sedan senaste uppföljningen · sedan utgångsvärdet)" in text
    assert "1 övning och 2 hemuppgifter" in text
    assert any(t.label == "Vad vi kom överens om" for t in at.text_area)
    assert "Utskrivbar agenda (HTML)" in [d.proto.label for d in at.get("download_button")]
    # a refusal, shown by its field
    at.number_input(key=f"fu_min_{pid}").set_value(500)
    next(b for b in at.button if b.label == "Spara uppföljning").click()
    with i18n.language("sv"):  # AppTest calls the page's format_func in this thread (the modality's words)
        at.run()
    assert "Minuterna måste vara mellan 1 och 120." in [e.value for e in at.error]


SWEDISH_MONTHS = "jan. feb. mars apr. maj juni juli aug. sep. okt. nov. dec.".split()


def test_a_validation_message_and_its_dates_follow_the_language(app_platform):
    today = app_platform.now.date()
    form = FollowupForm(today + timedelta(days=1), 10, "phone", None, None, "continue", None, None)
    with i18n.language("sv"):
        errors = validate(form, today - timedelta(days=10), today, 6)
    day = f"{today.day} {SWEDISH_MONTHS[today.month - 1]} {today.year}"  # Babel's Swedish day, "1 dec. 2026"
    assert errors["held_on"] == f"Uppföljningsdatumet kan inte ligga i framtiden (i dag är det {day})."
    assert validate(form, None, today, 6)["held_on"].endswith(f"(today is {today:%d %b %Y}).")  # English as before


def test_the_printable_agenda_is_in_the_runs_language_and_says_so(app_platform):
    pid = build_patient(app_platform)
    gp = load_viewer(app_platform.engine, "gp.a")
    with i18n.language("sv"):
        a = agenda.build(app_platform.engine, app_platform.engine, gp, pid, app_platform.now, Settings(), UTC)
        page = agenda.to_html(a, UTC, agreed="Fortsätt med aktivitetsplanen")
    assert page.startswith("<!doctype html><html lang=sv>")
    assert "<title>Besöksagenda · AG-1</title>" in page
    for heading in (
        "Moduler avslutade sedan senaste uppföljningen den",
        "Poäng",
        "Risk och förlopp",
        "Vad vi kom överens om",
    ):
        assert re.search(rf"<h[12]>{re.escape(heading)}", page), heading
    assert "<th>Mått</th><th>Nu</th><th>Sedan senaste uppföljningen</th><th>Sedan utgångsvärdet</th>" in page
    with i18n.language("fr_CA"):
        assert agenda.to_html(a, UTC).startswith("<!doctype html><html lang=fr-CA>")
    assert agenda.to_html(a, UTC).startswith("<!doctype html><html lang=en>")  # English as before


def test_the_contact_page_speaks_swedish(app_platform, monkeypatch):
    at = contact_page(app_platform, monkeypatch, "sv")
    assert at.title[0].value == "Vem att kontakta i dag"
    captions = [c.value for c in at.caption]
    assert any(c.startswith("Din lista: meddelanden som väntar") for c in captions)
    assert "2 patienter att kontakta · välj en rad för att markera skälen som hanterade" in captions
    assert column_labels(at, *CONTACT_COLUMNS) == {
        "code": "Patient",
        "waiting_days": "Väntat",
        "why": "Varför",
        "therapist": "Behandlare",
        "risk": "Risksvar",
    }
    risk = dict(zip(at.dataframe[0].value["code"], at.dataframe[0].value["risk"]))
    assert risk["PEER-2"] == "ingen behandlare tilldelad: säg till teamledaren"


# Words other helpers translate, shown on these pages; drop these once their slices are
# merged. "views": flag titles and reasons (dashboard/flags.py, dashboard/ui/views.py), and
# RISK_NOTE; "domain": band labels, reliable change and score words (dashboard/measures.py,
# dashboard/outcomes.py); timeutil.freshness_line; "triage": why_text and compact_list.
OTHERS = (
    r"Data as of.*?(?= · |$)",
    r"Caseboard is not monitored out of hours and is not a risk assessment: follow your service's risk protocol now\.",
    r"\b(?:minimal|mild|moderate|moderately severe|severe|no bands)\b",
    r"\b(?:reliable improvement|reliable deterioration|no reliable change)\b",
    r"\bRisk answer\b.*",
    r"\bNot on track\b.*",
    r"\bAwaiting reply\b.*|\bFeedback due\b.*|\bNo contact\b.*|\bInactive\b.*|\bNot started\b.*",
    r"\bTap a code to open the patient\.",
    r"\bsince the previous questionnaire\b",
    r"\bunanswered message for \d+ days?\b|\balso:",
)


def others_removed(texts: list[str]) -> list[str]:
    left = []
    for t in texts:
        for pattern in OTHERS:
            t = re.sub(pattern, " ", t)
        if pseudo.unmarked(t):
            left.append(t)
    return left


NESTED = re.compile(re.escape(i18n.PSEUDO_OPEN) + r"[^⟦⟧]*" + re.escape(i18n.PSEUDO_CLOSE))


def innermost_first(text: str) -> str:
    """``text`` without its marked parts, nested ones too ("⟦⟦1 exercise⟧ and ⟦2 homework
    tasks⟧⟧"), which ``pseudo.MARKED`` (non-greedy) would cut at the first closing marker."""
    while (stripped := NESTED.sub(" ", text)) != text:
        text = stripped
    return text


def unmarked_on(at, names: set[str]) -> list[str]:
    """The shown texts with words outside the markers, once names and OTHERS are removed."""
    texts = [innermost_first(t) for t in pseudo.shown_texts(at)]
    texts = [t for t in texts if pseudo.unmarked(t, names)]
    for name in sorted(names, key=len, reverse=True):
        texts = [t.replace(name, " ") for t in texts]
    return others_removed(texts)


def test_a_gps_follow_ups_page_goes_through_the_catalogs(app_platform, monkeypatch):
    at, _pid = due_dialog(app_platform, monkeypatch, i18n.PSEUDO)
    assert at.title[0].value == "⟦Follow-ups due⟧"
    assert unmarked_on(at, platform_names(app_platform)) == []


def test_a_peer_supporters_contact_page_goes_through_the_catalogs(app_platform, monkeypatch):
    at = contact_page(app_platform, monkeypatch, i18n.PSEUDO)
    assert at.title[0].value == "⟦Who to contact today⟧"
    assert unmarked_on(at, platform_names(app_platform)) == []
