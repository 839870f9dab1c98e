"""The peer supporter's pages in AppTest (issue 20, both backends): they land on "Who
to contact today", mark a patient's reasons handled there, and their patient page shows
progress, engagement and trajectories but no item answer, no risk task, no export."""

import pytest
from sqlalchemy import select

from dashboard.state_tables import acknowledgements, concerns
from tests.apptest import logged_in, open_patient, shown_text, table_state_key
from tests.factory import Platform


@pytest.fixture
def platform(app_platform):
    return app_platform


def in_care(p: Platform, code: str, therapist: int | None = 1, item9: int = 0) -> int:
    pid = p.patient(code, therapist=therapist, enrolled_days_ago=40)
    p.care(pid, 11, started_days_ago=40)
    p.module(pid, "depression", 1, 39, 30)
    p.phq9(pid, 20, 18, item9=item9)
    p.message(pid, 3)
    return pid


def test_the_supporter_lands_on_their_list_and_marks_a_patient_handled(platform):
    in_care(platform, "PEER-1")
    in_care(platform, "PEER-2", therapist=None, item9=2)
    platform.patient("NOT-MINE", enrolled_days_ago=40)
    at = logged_in("peer.a")
    assert at.title[0].value == "Who to contact today"
    table = at.dataframe[0].value
    assert set(table["code"]) == {"PEER-1", "PEER-2"}
    risk = dict(zip(table["code"], table["risk"]))
    assert risk == {"PEER-1": "", "PEER-2": "no therapist assigned: tell the team lead"}
    assert "item 9" not in shown_text(at)
    row = list(table["code"]).index("PEER-1")
    at.session_state[table_state_key(at, "contact_table_")] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert at.subheader[0].value == "PEER-1"
    assert all(c.value for c in at.checkbox)  # engagement reasons start ticked, as in triage
    next(b for b in at.button if b.label == "Mark selected handled").click()
    at.run()
    assert not at.exception
    assert list(at.dataframe[0].value["code"]) == ["PEER-2"]
    with platform.engine.connect() as conn:
        assert set(conn.scalars(select(acknowledgements.c.role))) == {"peer_supporter"}


def test_the_supporters_patient_page_has_no_item_answers_and_no_risk_task(platform):
    in_care(platform, "PEER-1", item9=2)
    at = open_patient("peer.a", "PEER-1")
    assert at.title[0].value == "PEER-1"
    text = shown_text(at)
    assert "Risk answer**: waiting for Therapist A's review since" in text
    assert {"Symptom trajectories", "Module progress", "Engagement", "Your reasons to contact"} <= {
        s.value for s in at.subheader
    }
    for forbidden in ("item 9", "Item 9", "Outcomes", "FHIR", "GP follow-ups", "High-priority risk"):
        assert forbidden not in text, forbidden
    assert not [b for b in at.button if "FHIR" in b.label]
    weekly = next(d.value for d in at.dataframe if "Messages from patient" in d.value.columns)
    assert {"Messages from patient", "Messages from clinician", "Messages from peer supporter"} <= set(weekly.columns)
    modules = next(d.value for d in at.dataframe if "due" in d.value.columns)
    assert modules["due"].notna().all()


def test_the_leads_caseload_lists_the_teams_peer_supporters(platform):
    in_care(platform, "PEER-1")
    at = logged_in("lead.a")
    assert at.title[0].value.startswith("Caseload")
    peers = next(d.value for d in at.dataframe if "supporter" in d.value.columns)
    assert list(peers["supporter"]) == ["Peer A"] and list(peers["in_care"]) == [1]


def concern_note(at):
    return next(t for t in at.text_area if t.label == "What did the patient tell you?")


def submit_concern(at, words: str):
    concern_note(at).input(words)
    next(b for b in at.button if b.label == "Record the concern").click()
    return at.run()


def stored_concerns(platform: Platform) -> list[str]:
    with platform.engine.connect() as conn:
        return list(conn.scalars(select(concerns.c.note).order_by(concerns.c.id)))


def test_the_supporter_records_a_concern_and_sees_it_wait_for_the_therapist(platform):
    in_care(platform, "PEER-1")
    at = open_patient("peer.a", "PEER-1")
    submit_concern(at, "short")
    assert not at.exception
    assert any("at least 10 characters" in e.value for e in at.error)  # clear, and nothing stored
    assert concern_note(at).value == "short" and stored_concerns(platform) == []
    words = "She told me she has stopped taking her medication."
    submit_concern(at, words)
    assert not at.exception and not at.error
    assert stored_concerns(platform) == [words]
    assert [s.value for s in at.success] == ["Concern recorded for PEER-1: it is in Therapist A's triage now."]
    assert concern_note(at).value == ""  # the next concern starts empty
    assert "**Concern**: waiting for Therapist A's review since" in shown_text(at)
    # the second click of a double click arrives with the same words: stored once
    submit_concern(at, words)
    assert not at.exception and stored_concerns(platform) == [words]
    submit_concern(at, "Later she said she feels unsafe at home tonight.")  # a new concern: a new instance
    assert len(stored_concerns(platform)) == 2
    # it is the therapist's reason, never a task on the supporter's own list
    contact = logged_in("peer.a")
    assert "Supporter's concern" not in shown_text(contact)
    triage_page = logged_in("ther.a")
    text = shown_text(triage_page)
    assert "Peer A recorded a concern on" in text and "feels unsafe at home tonight" in text


def test_the_therapists_patient_page_shows_the_concern_with_the_out_of_hours_note(platform):
    from dashboard.concerns import record_concern
    from dashboard.config import Settings
    from dashboard.scope import load_viewer
    from dashboard.ui.views import RISK_NOTE

    pid = in_care(platform, "PEER-1")
    words = "She said she cannot keep herself safe tonight."
    peer = load_viewer(platform.engine, "peer.a")
    record_concern(platform.engine, platform.engine, peer, pid, words, "k", platform.now, Settings())
    at = open_patient("ther.a", "PEER-1")
    badge = next(e.value for e in at.error if "Supporter's concern" in e.value)
    assert badge.startswith("**Supporter's concern**: Peer A recorded a concern on ") and RISK_NOTE in badge
    assert "tonight.." not in badge  # the supporter's own full stop is not doubled
