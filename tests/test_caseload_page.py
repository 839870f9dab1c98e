"""The Caseload page in AppTest: the team lead's landing page, and each filter
that changes the query path (period end, programme, therapist, cohort, nobody)."""

from datetime import timedelta

import pytest

from dashboard.ui.nav import PAGES_DIR
from tests.apptest import logged_in, table_with

CASELOAD = str(PAGES_DIR / "caseload.py")


@pytest.fixture
def team(app_platform):
    p = app_platform
    for i in range(6):
        pid = p.patient(f"DONE-{i}", therapist=1, enrolled_days_ago=80, status="completed", ended_days_ago=10)
        for k in (1, 2):
            p.module(pid, "depression", k, 80 - 7 * k, 76 - 7 * k)
        p.phq9(pid, 79, 16)
        p.phq9(pid, 11, 6)
        p.gad7(pid, 79, 12)
        p.gad7(pid, 11, 5)
    anxious = p.patient("ANX-1", program="anxiety", therapist=2, enrolled_days_ago=40)
    p.module(anxious, "anxiety", 1, 39, 30)
    p.message(anxious, 5, "from_patient")
    lapsed = p.patient("LAPSED-1", therapist=2, enrolled_days_ago=70)
    p.activity(lapsed, 40)
    p.patient("SOUTH-1", team=2, therapist=7, enrolled_days_ago=30)
    return p


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_team_lead_lands_on_caseload_with_every_section(team):
    at = logged_in("lead.a")
    assert at.title[0].value == "Caseload · North"
    shown = metrics(at)
    assert shown["Active patients"] == "2"  # ANX-1 and LAPSED-1; SOUTH-1 is another team's
    assert "Open triage items" in shown  # the period ends today, so the current queue is included
    headers = [h.value for h in at.subheader]
    assert headers[1:] == [
        "Where do we lose patients?",
        "Who is overloaded?",
        "Are we getting people better?",
        "Are GPs holding follow-ups?",
        "Trends · last 26 weeks",
    ]
    outcomes = table_with(at, "name", "Recovery").set_index("name")  # by programme comes first
    assert outcomes.loc["Depression", "Recovery"] == "100% (6/6)"
    assert outcomes.loc["Depression", "finished"] == 6
    lapsed = table_with(at, "code", "days_inactive")
    assert list(lapsed["code"]) == ["LAPSED-1"]
    assert "SOUTH-1" not in str([d.value for d in at.dataframe])


def test_a_past_period_leaves_out_the_current_queue(team):
    at = logged_in("lead.a")
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_period").set_value((today - timedelta(days=60), today - timedelta(days=30))).run()
    assert not at.exception
    shown = metrics(at)
    assert "Open triage items" not in shown and "Active patients" in shown
    outcomes = table_with(at, "name", "Recovery").set_index("name")
    assert outcomes.loc["Depression", "finished"] == 0  # the six courses ended 10 days ago, after this period


def test_programme_and_therapist_filters_narrow_every_figure(team):
    at = logged_in("lead.a")
    at.selectbox(key="caseload_programme").set_value(2).run()  # Generalised anxiety
    assert not at.exception
    assert metrics(at)["Active patients"] == "1"
    at.selectbox(key="caseload_programme").set_value(0)
    at.selectbox(key="caseload_therapist").set_value(1).run()  # Therapist A: only finished courses
    assert not at.exception
    assert metrics(at)["Active patients"] == "0"
    workload = table_with(at, "therapist", "caseload")
    assert list(workload["therapist"]) == ["Therapist A"]


def test_a_cohort_that_matches_nobody_shows_empty_states(team):
    at = logged_in("lead.a")
    at.toggle(key="caseload_cohort_on").set_value(True).run()
    today = at.date_input(key="caseload_period").value[1]
    at.date_input(key="caseload_cohort").set_value((today - timedelta(days=3), today - timedelta(days=2))).run()
    assert not at.exception
    assert metrics(at)["Active patients"] == "0"
    assert "No patients enrolled by the end of this period match the filters." in [i.value for i in at.info]


def test_caseload_is_for_team_leads_only(team):
    for user in ("ther.a", "gp.a"):
        at = logged_in(user)
        with pytest.raises(ValueError):
            at.switch_page(CASELOAD)
