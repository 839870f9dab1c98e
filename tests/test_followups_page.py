"""The Follow-ups page in AppTest (both backends)."""

import pytest
from sqlalchemy import func, select

from dashboard.state_tables import followups
from tests.apptest import logged_in, table_state_key


@pytest.fixture
def platform(app_platform):
    return app_platform


def stored(platform) -> int:
    with platform.engine.connect() as conn:
        return conn.scalar(select(func.count()).select_from(followups))


def due_patient(platform, code: str = "DUE1") -> int:
    pid = platform.patient(code, gp=3, enrolled_days_ago=20)
    platform.module(pid, "depression", 1, 18, 3)
    platform.module(pid, "depression", 2, 2)
    return pid


def open_form(platform, code: str = "DUE1"):
    at = logged_in("gp.a")
    assert at.title[0].value == "Follow-ups due"
    codes = list(at.dataframe[0].value["code"])
    at.session_state[table_state_key(at, "due_table_")] = {
        "selection": {"rows": [codes.index(code)], "columns": [], "cells": []}
    }
    return at.run()


def test_form_defaults_everything_it_can(platform):
    pid = due_patient(platform)
    at = open_form(platform)
    assert at.number_input(key=f"fu_min_{pid}").value == 10
    assert at.selectbox(key=f"fu_mod_{pid}").value == "face-to-face"
    assert at.selectbox(key=f"fu_module_{pid}").value == 1  # the latest completed module
    assert at.selectbox(key=f"fu_action_{pid}").value == "continue"
    assert at.number_input(key=f"fu_phq_{pid}").value is None


def test_refusal_is_shown_by_the_field_keeps_the_input_and_writes_nothing(platform):
    pid = due_patient(platform)
    at = open_form(platform)
    at.number_input(key=f"fu_min_{pid}").set_value(500)
    at.text_area(key=f"fu_note_{pid}").input("Discussed sleep diary")
    next(b for b in at.button if b.label == "Save follow-up").click()
    at.run()
    assert any("Minutes must be between 1 and 120" in e.value for e in at.error)
    assert at.number_input(key=f"fu_min_{pid}").value == 500
    assert at.text_area(key=f"fu_note_{pid}").value == "Discussed sleep diary"
    assert stored(platform) == 0


def test_saving_removes_the_patient_from_the_due_list(platform):
    pid = due_patient(platform)
    due_patient(platform, "DUE2")
    at = open_form(platform)
    at.text_area(key=f"fu_note_{pid}").input("Going well")
    next(b for b in at.button if b.label == "Save follow-up").click()
    at.run()
    assert stored(platform) == 1
    assert any("Follow-up for DUE1 saved" in s.value for s in at.success)
    assert list(at.dataframe[0].value["code"]) == ["DUE2"]


def test_nothing_due(platform):
    at = logged_in("gp.a")
    assert any("No follow-up is due" in i.value for i in at.info)


def test_a_gp_cannot_see_another_gps_patient(platform):
    from tests.apptest import open_patient

    due_patient(platform, "MINE")
    theirs = platform.patient("THEIRS", gp=4, enrolled_days_ago=20)
    platform.module(theirs, "depression", 1, 18, 3)
    at = logged_in("gp.a")
    assert list(at.dataframe[0].value["code"]) == ["MINE"]
    denied = open_patient("gp.a", "THEIRS")
    assert [e.value for e in denied.error] == ["No such patient in your caseload."]
    assert not any(e.label == "Log a follow-up" for e in denied.expander)
