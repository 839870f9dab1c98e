"""Control characters in a deep link or a note (issue 14, finding 16), on both
backends: refused before any query with a message saying what to do, nothing
stored, no "cannot reach the database" banner; a deep link is audited as a
denial. On PostgreSQL a NUL used to reach the driver, which fails the query."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from dashboard import audit
from dashboard.acks import AckRefused, Choice, acknowledge_batch
from dashboard.config import Settings
from dashboard.gp_followups import FollowupForm, FollowupRefused, current_followups, log_followup, withdraw_followup
from dashboard.scope import load_viewer
from dashboard.state_tables import acknowledgements, followups
from dashboard.ui.nav import PAGES, PAGES_DIR
from tests.apptest import logged_in, open_patient, table_state_key
from tests.factory import followup_form

FAULT = "cannot reach the database"
NOTES = ["Called\x00 them", "bell\x07", "escape \x1b[31mred"]


def count(platform, table) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(table))


def form(platform, note: str) -> FollowupForm:
    return followup_form(platform.now.date(), modality="phone", note=note)


def shown(at) -> str:
    return " ".join(e.value for kind in ("error", "warning", "info") for e in getattr(at, kind))


def test_a_deep_link_with_a_nul_is_refused_and_audited_as_a_denial(app_platform):
    app_platform.patient("P1")
    at = open_patient("ther.a", "P1\x00")
    assert not at.exception, at.exception
    assert FAULT not in shown(at)
    assert [e.value for e in at.error] == [
        "This patient link contains control characters (U+0000) that cannot be stored or looked up; remove them "
        "(they often come from pasting out of another program) and try again."
    ]
    assert not at.dataframe and not at.get("vega_lite_chart")
    denied = audit.read(app_platform.engine, actor="ther.a")
    denied = denied[denied["action"] == "denied"]
    assert [json.loads(d) for d in denied["detail"]] == [{"requested_code": "P1\\x00", "reason": "control characters"}]


@pytest.mark.parametrize("code", ["P1\x01", "P1\x7f", "P\x1b[2J1"])
def test_other_control_characters_in_a_deep_link_are_refused_too(app_platform, code):
    app_platform.patient("P1")
    at = open_patient("gp.a", code)
    assert not at.exception and FAULT not in shown(at)
    assert "control characters" in at.error[0].value


@pytest.mark.parametrize("note", NOTES)
def test_a_followup_note_with_control_characters_is_refused_with_nothing_stored(app_platform, note):
    pid = app_platform.patient("G1", enrolled_days_ago=30)
    gp = load_viewer(app_platform.engine, "gp.a")
    with pytest.raises(FollowupRefused) as refused:
        log_followup(
            app_platform.engine, app_platform.engine, gp, pid, form(app_platform, note), "k1", app_platform.now
        )
    assert list(refused.value.errors) == ["note"] and "control characters" in refused.value.errors["note"]
    assert count(app_platform, followups) == 0 and audit.read(app_platform.engine).empty


def test_a_note_keeps_its_lines_and_tabs(app_platform):
    pid = app_platform.patient("G1", enrolled_days_ago=30)
    gp = load_viewer(app_platform.engine, "gp.a")
    note = "Line one\r\nline two\n\tindented"
    log_followup(app_platform.engine, app_platform.engine, gp, pid, form(app_platform, note), "k1", app_platform.now)
    assert current_followups(app_platform.engine, [pid]).iloc[0]["note"] == note


def test_a_withdrawal_reason_with_a_nul_is_refused(app_platform):
    pid = app_platform.patient("G1", enrolled_days_ago=30)
    gp = load_viewer(app_platform.engine, "gp.a")
    entry = log_followup(
        app_platform.engine, app_platform.engine, gp, pid, form(app_platform, ""), "k1", app_platform.now
    )
    with pytest.raises(FollowupRefused) as refused:
        withdraw_followup(
            app_platform.engine, app_platform.engine, gp, entry, "wrong patient\x00", "k2", app_platform.now
        )
    assert "control characters" in refused.value.errors["change_reason"]
    assert count(app_platform, followups) == 1 and not current_followups(app_platform.engine, [pid]).empty


def test_an_acknowledgement_note_with_a_nul_is_refused_with_nothing_stored(app_platform):
    pid = app_platform.patient("R1", enrolled_days_ago=5)
    app_platform.phq9(pid, 1, 14, item9=2)
    therapist = load_viewer(app_platform.engine, "ther.a")
    with pytest.raises(AckRefused, match="control characters"):
        acknowledge_batch(
            app_platform.engine,
            app_platform.engine,
            therapist,
            pid,
            # what the screen showed does not matter: the note is refused first
            [Choice("risk", frozenset(), "Called the patient\x00; safety plan reviewed.")],
            app_platform.now,
            Settings(),
        )
    assert count(app_platform, acknowledgements) == 0 and audit.read(app_platform.engine).empty


def test_the_followup_form_shows_the_refusal_by_the_note(app_platform):
    pid = app_platform.patient("DUE1", enrolled_days_ago=20)
    app_platform.module(pid, "depression", 1, 18, 3)
    at = logged_in("gp.a")
    at.session_state[table_state_key(at, "due_table_")] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.text_area(key=f"fu_note_{pid}").input("Discussed\x00 sleep")
    next(b for b in at.button if b.label == "Save follow-up").click()
    at.run()
    assert not at.exception and FAULT not in shown(at)
    assert any(e.value.startswith("The note contains control characters (U+0000)") for e in at.error)
    assert at.text_area(key=f"fu_note_{pid}").value == "Discussed\x00 sleep"  # kept, to be corrected
    assert count(app_platform, followups) == 0


def test_the_triage_form_shows_the_refusal(app_platform):
    pid = app_platform.patient("RISKY", enrolled_days_ago=5)
    app_platform.phq9(pid, 1, 14, item9=2)
    at = logged_in("ther.a")
    at.session_state[table_state_key(at, "triage_table_")] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    next(c for c in at.checkbox if c.label.startswith("**Risk answer**")).check()
    at.text_area[0].input("Called the patient\x00; safety plan reviewed.")
    next(b for b in at.button if b.label == "Mark selected handled").click()
    at.run()
    assert not at.exception and FAULT not in shown(at)
    assert any("control characters (U+0000)" in e.value for e in at.error)
    assert count(app_platform, acknowledgements) == 0


def test_the_audit_filters_refuse_control_characters(app_platform):
    at = logged_in("lead.a")
    at.switch_page(str(PAGES_DIR / PAGES["audit"][0])).run()
    at.text_input[1].input("P1\x00")
    at.run()
    assert not at.exception and FAULT not in shown(at)
    assert at.error[0].value.startswith("The patient code filter contains control characters")
