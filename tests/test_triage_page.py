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


def acks_stored(platform: Platform, flag: str | None = None) -> int:
    query = select(func.count()).select_from(acknowledgements)
    if flag is not None:
        query = query.where(acknowledgements.c.flag == flag)
    with platform.engine.connect() as conn:
        return conn.scalar(query)


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


def test_an_escalated_risk_answer_is_announced_in_words(platform):
    risky = platform.patient("RISKY", enrolled_days_ago=10)
    platform.phq9(risky, 6, 14, item9=2)  # six days unacknowledged: past one working day
    at = logged_in("ther.a")
    banner = next(e.value for e in at.error if "not acknowledged" in e.value)
    assert banner.startswith(
        "1 patient with a risk answer or a supporter's concern not acknowledged within 1 working day. "
    )


def box(at: AppTest, title: str):
    """The handling form's checkbox of one reason, by its title."""
    return next(c for c in at.checkbox if c.label.startswith(f"**{title}**"))


def submit(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Mark selected handled").click()
    return at.run()


def risk_note(at: AppTest):
    return next(t for t in at.text_area if t.label.startswith("Note for the risk answer"))


def test_risk_acknowledgement_needs_a_note_then_leaves_the_queue(platform):
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 1, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    assert at.subheader[0].value == "RISKY"
    assert box(at, "Risk answer").value is False  # never preselected
    box(at, "Risk answer").check()
    risk_note(at).input("ok")
    submit(at)
    assert any("needs a note of at least 10 characters" in e.value for e in at.error)
    assert risk_note(at).value == "ok"  # what was typed is kept
    assert acks_stored(platform) == 0
    risk_note(at).input("Called the patient; safety plan reviewed with them.")
    submit(at)
    assert acks_stored(platform) == 1
    assert at.success[0].value.startswith("Handled for RISKY by you: Risk answer.")
    # the note is visible to the team on the patient page
    at.query_params["patient"] = "RISKY"
    at.switch_page(str(PAGES_DIR / "patient.py")).run()
    handled = [c.value for c in at.caption if c.value.startswith("Handled: risk answer")]
    assert handled and "marked by Therapist A (ther.a)" in handled[0] and "safety plan reviewed" in handled[0]
    assert not at.error  # the acknowledged risk badge is gone


def test_several_reasons_in_one_action_and_the_confirmation_says_what_is_still_open(platform):
    """Issue 16, item 11: the routine reasons are ticked already; risk is not, so it stays open."""
    pid = platform.patient("FOUR", enrolled_days_ago=40)
    platform.module(pid, "depression", 1, started_days_ago=30)
    platform.phq9(pid, 20, 26, item9=2)
    platform.message(pid, 3)
    at = select_row(logged_in("ther.a"), 0)
    kinds = {c.label.split("**")[1]: c.value for c in at.checkbox}
    assert kinds == {"Risk answer": False, "Awaiting reply": True, "No contact": True, "Questionnaire overdue": True}
    next(t for t in at.text_area if t.label.startswith("Note for the team")).input("Messaged; agreed a plan.")
    submit(at)
    assert acks_stored(platform) == 3
    assert at.success[0].value == (
        "Handled for FOUR by you: Awaiting reply, No contact, Questionnaire overdue. Still open: Risk answer."
    )
    assert not at.checkbox  # the dialog closed; the patient is still in the list for the risk answer
    assert list(at.dataframe[0].value["code"]) == ["FOUR"]


def test_a_refused_batch_stores_nothing_and_names_the_reason(platform):
    pid = platform.patient("FOUR", enrolled_days_ago=40)
    platform.module(pid, "depression", 1, started_days_ago=30)
    platform.phq9(pid, 20, 26, item9=2)
    platform.message(pid, 3)
    at = select_row(logged_in("ther.a"), 0)
    platform.message(pid, hours_ago=1)  # arrives while the form is open (the queue is cached)
    submit(at)
    assert acks_stored(platform) == 0
    assert any("Newer than your screen: Awaiting reply. Nothing was stored." in e.value for e in at.error)
    assert at.subheader[0].value == "FOUR"  # the form is still open, drawn again from a fresh read
    submit(at)  # reviewed: the same reasons, now including the new message, are accepted
    assert acks_stored(platform) == 3


def test_deterioration_on_two_measures_is_one_reason_to_handle(platform):
    """Two rows of one reason (PHQ-9 and GAD-7 both reliably worse) once crashed the
    page with a duplicate form key; they are one checkbox, and one acknowledgement covers both."""
    pid = platform.patient("WORSE", enrolled_days_ago=40)
    platform.phq9(pid, 39, 8)
    platform.phq9(pid, 1, 16)
    platform.gad7(pid, 39, 5)
    platform.gad7(pid, 1, 12)
    at = select_row(logged_in("ther.a"), 0)
    assert not at.exception and at.subheader[0].value == "WORSE"
    worse = box(at, "Reliable deterioration")
    assert "PHQ-9" in worse.label and "GAD-7" in worse.label
    for other in at.checkbox:
        if other.label != worse.label:
            other.uncheck()
    submit(at)
    assert not at.exception and acks_stored(platform) == 1


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
    box(at, "Risk answer").check()
    risk_note(at).input("Phoned; the answer of 1 discussed, no plans or intent.")
    platform.phq9(pid, 0.001, 22, item9=3)  # arrives while the form is open (the queue is cached)
    submit(at)
    assert acks_stored(platform) == 0
    assert any("A newer answer arrived: review it first." in e.value for e in at.error)
    assert "answered 3" in box(at, "Risk answer").label
    # reviewed: the same form, now showing the 3, is accepted
    submit(at)
    assert acks_stored(platform, "risk") == 1


def test_a_mistaken_acknowledgement_is_withdrawn_from_the_patient_page(platform):
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 1, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    box(at, "Risk answer").check()
    risk_note(at).input("Called the patient; safety plan reviewed with them.")
    submit(at)
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


def test_the_dialog_opens_the_patient_page(platform):
    pid = platform.patient("RISKY", enrolled_days_ago=5)
    platform.phq9(pid, 1, 14, item9=1)
    at = select_row(logged_in("ther.a"), 0)
    next(b for b in at.button if b.label == "Open patient page").click()
    at.run()
    assert not at.exception and at.title[0].value == "RISKY"
    assert any(c.label.startswith("**Risk answer**") for c in at.checkbox)  # the same form, on the record


def test_a_supporters_concern_is_handled_from_the_dialog_only_with_its_own_note(platform):
    from dashboard.concerns import record_concern
    from dashboard.config import Settings
    from dashboard.scope import load_viewer

    pid = platform.patient("WORRIED", enrolled_days_ago=5)
    platform.care(pid, 11, started_days_ago=5)
    platform.message(pid, 3, "from_patient")
    peer = load_viewer(platform.engine, "peer.a")
    words = "She told me she feels unsafe at home."
    record_concern(platform.engine, platform.engine, peer, pid, words, "k", platform.now, Settings())
    at = select_row(logged_in("ther.a"), 0)
    assert at.subheader[0].value == "WORRIED"
    concern = box(at, "Supporter's concern")
    assert concern.value is False and words in concern.label  # never preselected, the supporter's words shown
    assert box(at, "Awaiting reply").value is True
    concern.check()
    submit(at)
    assert any("needs a note of at least 10 characters" in e.value for e in at.error)
    assert acks_stored(platform) == 0  # all or nothing: the reply owed is not stored either
    next(t for t in at.text_area if t.label.startswith("Note for the supporter's concern")).input(
        "Phoned her; safety plan agreed, GP seeing her today."
    )
    submit(at)
    assert acks_stored(platform, "peer_concern") == 1 and acks_stored(platform) == 2
    again = logged_in("ther.a")
    assert not any("Supporter's concern" in m.value for m in again.markdown)  # no longer counted as open
