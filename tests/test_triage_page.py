"""The Triage page in AppTest (both backends)."""

import pytest
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from dashboard.state_tables import acknowledgements
from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_state_key, table_with
from tests.factory import Platform


@pytest.fixture
def platform(app_platform):
    return app_platform


def select_row(at: AppTest, index: int) -> AppTest:
    at.session_state[table_state_key(at, "triage_table_")] = {
        "selection": {"rows": [index], "columns": [], "cells": []}
    }
    return at.run()


def acks_stored(platform: Platform) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(acknowledgements))


def test_therapist_lands_on_triage_with_counts_and_reasons(platform):
    risky = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(risky, 1, 14, item9=2)
    waiting = platform.patient("WAITING", enrolled_days_ago=5)
    platform.message(waiting, 3, "from_patient")
    platform.patient("OTHERS", therapist=2, enrolled_days_ago=30)
    at = logged_in("ther.a")
    assert at.title[0].value == "Triage"
    assert any("**Risk answer** 1" in m.value and "**Awaiting reply** 1" in m.value for m in at.markdown)
    table = at.dataframe[0].value
    assert list(table["code"]) == ["RISKY", "WAITING"]
    assert table["why"].iloc[0].startswith("PHQ-9 item 9 answered 2")


def test_risk_acknowledgement_needs_a_note_then_leaves_the_queue(platform):
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 1, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    assert at.subheader[0].value == "RISKY"
    risk_note = at.text_area[0]
    risk_note.input("ok")
    next(b for b in at.button if b.label == "Mark handled").click()
    at.run()
    assert any("needs a note of at least 10 characters" in e.value for e in at.error)
    assert at.text_area[0].value == "ok"  # what was typed is kept
    assert acks_stored(platform) == 0
    at.text_area[0].input("Called the patient; safety plan reviewed with them.")
    next(b for b in at.button if b.label == "Mark handled").click()
    at.run()
    assert acks_stored(platform) == 1
    risk_rows = [m.value for m in at.markdown if "Risk answer" in m.value]
    assert not any("item 9" in r for r in risk_rows)
    # the note is visible to the team on the patient page
    at.query_params["patient"] = "RISKY"
    at.switch_page(str(PAGES_DIR / "patient.py")).run()
    handled = [c.value for c in at.caption if c.value.startswith("Handled: risk answer")]
    assert handled and "marked by Therapist A (ther.a)" in handled[0] and "safety plan reviewed" in handled[0]
    assert not at.error  # the acknowledged risk badge is gone


def test_deterioration_on_two_measures_is_one_reason_to_handle(platform):
    """Two rows of one reason (PHQ-9 and GAD-7 both reliably worse) once crashed the
    page with a duplicate form key; they are one form, and one acknowledgement covers both."""
    pid = platform.patient("WORSE", enrolled_days_ago=40)
    platform.phq9(pid, 39, 8)
    platform.phq9(pid, 1, 16)
    platform.gad7(pid, 39, 5)
    platform.gad7(pid, 1, 12)
    at = select_row(logged_in("ther.a"), 0)
    assert not at.exception and at.subheader[0].value == "WORSE"
    worse = [m.value for m in at.markdown if m.value.startswith("**Reliable deterioration**:")]
    assert len(worse) == 1 and "PHQ-9" in worse[0] and "GAD-7" in worse[0]
    form = next(b for b in at.button if b.label == "Mark handled")
    form.click()
    at.run()
    assert not at.exception and acks_stored(platform) == 1
    assert not [m.value for m in at.markdown if m.value.startswith("**Reliable deterioration**:")]


def test_team_lead_filters_by_therapist_and_sees_unassigned(platform):
    platform.patient("MINE-A", therapist=1, enrolled_days_ago=20)
    platform.patient("MINE-B", therapist=2, enrolled_days_ago=20)
    platform.patient("NOBODY", therapist=None, enrolled_days_ago=20)
    at = logged_in("lead.a")  # lands on Caseload
    at.switch_page(str(PAGES_DIR / "triage.py")).run()
    assert set(table_with(at, "code")["code"]) == {"MINE-A", "MINE-B", "NOBODY"}
    assert "therapist" in table_with(at, "code").columns
    at.selectbox[0].set_value("unassigned").run()
    assert list(table_with(at, "code")["code"]) == ["NOBODY"]
    at.selectbox[0].set_value("Therapist B").run()
    assert list(table_with(at, "code")["code"]) == ["MINE-B"]


def test_platform_message_link_when_configured(platform, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PLATFORM_URL", "https://icbt.example/patients/{code}/messages")
    platform.patient("LINKED", enrolled_days_ago=20)
    at = logged_in("ther.a")
    assert at.dataframe[0].value["thread"].iloc[0] == "https://icbt.example/patients/LINKED/messages"


def test_empty_queue_says_so(platform):
    at = logged_in("ther.a")
    assert any("Nobody in your caseload needs you" in s.value for s in at.success)


def test_gp_has_no_triage_page(platform):
    at = logged_in("gp.a")
    assert at.title[0].value == "Follow-ups due"
    with pytest.raises(ValueError):
        at.switch_page(str(PAGES_DIR / "triage.py"))


def test_a_newer_answer_while_the_form_is_open_is_refused_and_shown(platform):
    """Issue 14, finding 1, on the page: the form drawn for an answer of 1; an answer
    of 3 arrives; the submission stores nothing and the form now shows the 3."""
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 2, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    at.text_area[0].input("Phoned; the answer of 1 discussed, no plans or intent.")
    platform.phq9(pid, 0.001, 22, item9=3)  # arrives while the form is open (the queue is cached)
    next(b for b in at.button if b.label == "Mark handled").click()
    at.run()
    assert acks_stored(platform) == 0
    assert any("A newer answer arrived: review it first." in e.value for e in at.error)
    form = next(m.value for m in at.markdown if m.value.startswith("**Risk answer**:"))
    assert "answered 3" in form
    # reviewed: the same form, now showing the 3, is accepted
    next(b for b in at.button if b.label == "Mark handled").click()
    at.run()
    assert acks_stored(platform) == 1


def test_a_mistaken_acknowledgement_is_withdrawn_from_the_patient_page(platform):
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 1, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    at.text_area[0].input("Called the patient; safety plan reviewed with them.")
    next(b for b in at.button if b.label == "Mark handled").click()
    at.run()
    at.query_params["patient"] = "RISKY"
    at.switch_page(str(PAGES_DIR / "patient.py")).run()
    assert not any("High-priority" in e.value or "Risk answer" in e.value for e in at.error)
    next(b for b in at.button if b.label == "Withdraw acknowledgement").click()
    at.run()
    assert any("Say why" in e.value for e in at.error)
    next(t for t in at.text_input if t.label.startswith("Why is it withdrawn")).input("Marked on the wrong patient")
    next(b for b in at.button if b.label == "Withdraw acknowledgement").click()
    at.run()
    assert any("Risk answer" in e.value for e in at.error)  # the risk badge is back
    assert not [c for c in at.caption if c.value.startswith("Handled: risk answer")]
