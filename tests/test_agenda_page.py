"""The consultation agenda on the Follow-ups page's dialog and on the Patient page, in
AppTest (both backends): what it shows, "What we agreed" prefilling the follow-up
form's note, and who gets it."""

import pytest

from dashboard.clinician_records import current_followups
from dashboard.ui.components.agenda_panel import AGREED_LABEL, DOWNLOAD_LABEL, agreed_key
from dashboard.ui.components.followup_form import note_key
from tests.apptest import logged_in, open_patient, shown_text, table_state_key
from tests.test_agenda import build_patient


@pytest.fixture
def platform(app_platform):
    return app_platform


def downloads(at) -> list[str]:
    return [d.proto.label for d in at.get("download_button")]


def open_due_dialog(code: str):
    at = logged_in("gp.a")
    codes = list(at.dataframe[0].value["code"])
    at.session_state[table_state_key(at, "due_table_")] = {
        "selection": {"rows": [codes.index(code)], "columns": [], "cells": []}
    }
    at.run()
    assert not at.exception, at.exception
    return at


def test_the_due_list_dialog_shows_the_agenda_and_prefills_the_form(platform):
    pid = build_patient(platform)
    at = open_due_dialog("AG-1")
    text = shown_text(at)
    for seen in (
        "Modules completed since the last follow-up on",
        "Noticing thoughts and feelings",
        "Weighing the evidence for a thought",
        "1 exercise and 2 homework tasks",
        "-6 from 17 (moderately severe)",
        "-9 from 20 (severe): reliable improvement",
        "Risk answer",
        "Not on track",
        "therapist Therapist A",
    ):
        assert seen in text, seen
    assert DOWNLOAD_LABEL in downloads(at)
    assert at.selectbox(key=f"fu_module_{pid}").value == 4  # the latest module completed
    at.text_area(key=agreed_key(pid)).input("Keep the activity plan; see again after module 6")
    at.run()
    assert at.text_area(key=note_key(pid)).value == "Keep the activity plan; see again after module 6"
    at.text_area(key=agreed_key(pid)).input("Keep the plan; meet after module 6")
    at.run()
    assert at.text_area(key=note_key(pid)).value == "Keep the plan; meet after module 6"  # the latest wins
    next(b for b in at.button if b.label == "Save follow-up").click()
    at.run()
    saved = current_followups(platform.engine, [pid])
    assert list(saved["note"])[0] == "Keep the plan; meet after module 6"


def test_the_patient_page_has_the_agenda_for_the_gp_with_the_prefill(platform):
    pid = build_patient(platform)
    at = open_patient("gp.a", "AG-1")
    assert "Consultation agenda" in [e.label for e in at.expander]
    assert "Noticing thoughts and feelings" in shown_text(at)
    at.text_area(key=agreed_key(pid)).input("Walk every morning")
    at.run()
    assert at.text_area(key=note_key(pid)).value == "Walk every morning"


@pytest.mark.parametrize(("user", "has_agenda"), [("ther.a", True), ("lead.a", False)])
def test_who_else_gets_the_agenda(platform, user, has_agenda):
    """The therapist prepares with it (no follow-up form); the team lead sees the record, not the agenda."""
    build_patient(platform)
    at = open_patient(user, "AG-1")
    assert ("Consultation agenda" in [e.label for e in at.expander]) is has_agenda
    assert (AGREED_LABEL in [t.label for t in at.text_area]) is has_agenda
    assert (DOWNLOAD_LABEL in downloads(at)) is has_agenda
