"""The patient page in AppTest, over hand-built patients (both backends)."""

import json

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from dashboard import audit
from tests.apptest import open_patient, table_with
from tests.factory import followup_form


@pytest.fixture
def platform(app_platform):
    return app_platform


def text_of(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption] + [e.value for e in at.error]
    parts += [i.value for i in at.info] + [t.value for t in at.title] + [w.value for w in at.warning]
    return "\n".join(parts)


def charts(at: AppTest) -> list[dict]:
    return [json.loads(el.proto.spec) for el in at.get("vega_lite_chart")]


def test_no_responses_yet(platform):
    platform.patient("NEW1", enrolled_days_ago=2)
    at = open_patient("ther.a", "NEW1")
    assert at.title[0].value == "NEW1"
    assert "No valid questionnaire yet" in text_of(at)
    assert "0 of 8" in text_of(at)


def test_one_response_shows_baseline_only(platform):
    pid = platform.patient("ONE1", enrolled_days_ago=3)
    platform.phq9(pid, 2, 14)
    at = open_patient("ther.a", "ONE1")
    table = at.dataframe[0].value
    assert table["Reliable change"].iloc[0] == "only a baseline so far"
    assert table["Baseline"].iloc[0].startswith("14 (moderate)")


def test_risk_answer_is_marked_on_the_chart_and_listed(platform):
    pid = platform.patient("RISK1", enrolled_days_ago=20)
    platform.phq9(pid, 19, 12, item9=0)
    platform.phq9(pid, 5, 13, item9=2)
    at = open_patient("ther.a", "RISK1")
    assert "item 9 = 2" in text_of(at)
    phq = charts(at)[0]
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in phq["layer"]]
    assert "rect" in marks and "rule" in marks  # band layer and the caseness cut-off
    diamonds = [
        layer for layer in phq["layer"] if isinstance(layer["mark"], dict) and layer["mark"].get("shape") == "diamond"
    ]
    assert diamonds, "item-9 answers above 0 must be drawn"
    cut = next(
        layer
        for layer in phq["layer"]
        if (layer["mark"] if isinstance(layer["mark"], str) else layer["mark"]["type"]) == "rule"
    )
    assert cut["encoding"]["y"]["datum"] == 10  # PHQ-9 caseness (clinical-reference 1.4)


def test_reliable_deterioration_is_named(platform):
    pid = platform.patient("DET1", enrolled_days_ago=30)
    platform.phq9(pid, 29, 10)
    platform.phq9(pid, 1, 16)
    at = open_patient("ther.a", "DET1")
    assert at.dataframe[0].value["Reliable change"].iloc[0] == "reliable deterioration"
    assert any("reliably worse than baseline" in json.dumps(spec) for spec in charts(at))


def test_prorated_phq9_is_labelled(platform):
    pid = platform.patient("PRO1", enrolled_days_ago=10)
    platform.response(pid, "PHQ9", 9, [2, 2, 1, 1, 1, 1, 1, None, 0])
    at = open_patient("ther.a", "PRO1")
    assert "prorated" in json.dumps(charts(at)[0])
    assert "prorated" in text_of(at) or any("prorated" in str(df.value.to_dict()) for df in at.dataframe)


def test_missing_item_9_and_corrupt_rows_go_to_data_quality(platform):
    pid = platform.patient("DQ1", enrolled_days_ago=20)
    platform.phq9(pid, 19, 12)
    platform.response(pid, "PHQ9", 10, [1, 1, 1, 1, 1, 1, 1, 1, None])  # item 9 missing
    platform.response(pid, "PHQ9", 5, [1, 1, 1, 1, 1, 1, 1, 1, 1], total=20)  # total disagrees
    platform.response(pid, "PHQ9", 4, [9, 1, 1, 1, None, None, None, 1, 1])  # out of range + 3 missing
    at = open_patient("ther.a", "DQ1")
    quality = next(e for e in at.expander if e.label.startswith("Data quality"))
    assert quality.label == "Data quality: 1 problem in this patient's platform records"
    listed = table_with(at, "Used")
    assert len(listed) == 3
    problems = " ".join(listed["Problem"])
    assert "disagrees" in problems and "out of range" in problems and "not scored" in problems
    assert "1 item missing: prorated" in problems


def test_outside_scope_is_denied_with_the_same_words_and_audited(platform):
    platform.patient("THEIRS", therapist=2)
    for code in ("THEIRS", "DOES-NOT-EXIST"):
        at = open_patient("ther.a", code)
        assert [e.value for e in at.error] == ["No such patient in your caseload."]
        assert not at.dataframe and not at.get("vega_lite_chart")
    rows = audit.read(platform.engine, actor="ther.a")
    assert sorted(rows.loc[rows["action"] == "denied", "detail"]) == sorted(
        ['{"requested_code": "DOES-NOT-EXIST"}', '{"requested_code": "THEIRS"}']
    )


def test_opening_is_audited_once_per_session(platform):
    pid = platform.patient("AUD1")
    at = open_patient("ther.a", "AUD1")
    at.run()
    at.run()
    rows = audit.read(platform.engine, actor="ther.a")
    assert rows.loc[rows["action"] == "open_record", "patient_id"].tolist() == [pid]


def test_risk_badge_says_not_monitored_out_of_hours(platform):
    pid = platform.patient("RB1", enrolled_days_ago=20)
    platform.phq9(pid, 19, 12)
    platform.phq9(pid, 3, 14, item9=3)
    at = open_patient("ther.a", "RB1")
    risk = [e.value for e in at.error]
    assert len(risk) == 1 and risk[0].startswith("**High-priority risk answer**: PHQ-9 item 9 answered 3")
    assert "not monitored out of hours" in risk[0] and "risk protocol" in risk[0]


def test_a_risk_answer_at_follow_up_is_on_the_page_with_its_context(platform):
    """Issue 20, risk at follow-up: item 9 of 2 answered 12 weeks after a completed
    episode ended is a high-priority risk answer on the page (clinical-reference 1.5),
    saying it came at follow-up; the ended episode raises nothing else."""
    pid = platform.patient("FUP1", status="completed", enrolled_days_ago=150, ended_days_ago=12 * 7 + 3)
    platform.phq9(pid, 3, 15, item9=2)
    at = open_patient("ther.a", "FUP1")
    risk = [e.value for e in at.error]
    assert len(risk) == 1 and risk[0].startswith("**High-priority risk answer**: PHQ-9 item 9 answered 2 on")
    assert "at follow-up, 12 weeks after the episode ended" in risk[0]
    assert [c.label.split("**")[1] for c in at.checkbox] == ["Risk answer"]


def test_item9_of_zero_is_never_shown_as_no_risk(platform):
    pid = platform.patient("Z1", enrolled_days_ago=5)
    platform.phq9(pid, 4, 12, item9=0)
    at = open_patient("ther.a", "Z1")
    page = text_of(at)
    assert "This does not mean no risk" in page
    assert "no risk" not in page.replace("does not mean no risk", "")
    assert not at.error


def test_missing_item9_badge(platform):
    pid = platform.patient("U1", enrolled_days_ago=5)
    platform.response(pid, "PHQ9", 1, [1, 1, 1, 1, 1, 1, 1, 1, None])
    at = open_patient("ther.a", "U1")
    assert any(w.value.startswith("**Risk item unanswered**") for w in at.warning)


def test_inactivity_badge_in_words(platform):
    pid = platform.patient("IN1", enrolled_days_ago=30)
    platform.activity(pid, 12)
    at = open_patient("ther.a", "IN1")
    assert any("no activity for 12 days" in w.value for w in at.warning)


def log(platform, pid: int, gp: str = "gp.a", key: str = "k1", **changes):
    from dashboard.gp_followups import log_followup
    from dashboard.scope import load_viewer

    form = followup_form(platform.now.date(), **changes)
    return log_followup(
        platform.engine, platform.engine, load_viewer(platform.engine, gp), pid, form, key, platform.now
    )


def test_clinic_phq9_is_a_distinct_mark_and_never_enters_outcomes(platform):
    pid = platform.patient("CL1", gp=3, enrolled_days_ago=20)
    platform.phq9(pid, 19, 12)
    platform.phq9(pid, 2, 11)
    log(platform, pid, clinic_phq9=25, note="Seen in clinic")
    at = open_patient("ther.a", "CL1")
    outcomes = at.dataframe[0].value.set_index("Measure").loc["PHQ-9"]
    assert outcomes["Latest"].startswith("11 ") and outcomes["Reliable change"] == "no reliable change"
    spec = json.dumps(charts(at)[0])
    assert '"shape": "cross"' in spec and "Clinic PHQ-9" in spec
    assert not any("Reliable deterioration" in w.value for w in at.warning)  # 25 is not a flagged score
    follow = next(df.value for df in at.dataframe if "Clinic PHQ-9" in df.value.columns)
    assert follow["Clinic PHQ-9"].tolist() == ["25"] and follow["Note"].tolist() == ["Seen in clinic"]


def test_only_the_patients_gp_gets_the_log_form(platform):
    platform.patient("F1", gp=3, therapist=1, enrolled_days_ago=20)
    gp_view = open_patient("gp.a", "F1")
    assert any(e.label == "Log a follow-up" for e in gp_view.expander)
    therapist_view = open_patient("ther.a", "F1")
    assert not any(e.label == "Log a follow-up" for e in therapist_view.expander)


def test_gp_corrects_their_own_entry_with_history(platform):
    from dashboard.gp_followups import history

    pid = platform.patient("CO1", gp=3, enrolled_days_ago=20)
    entry = log(platform, pid, minutes=10)
    at = open_patient("gp.a", "CO1")
    form_inputs = [n for n in at.number_input if n.label == "Minutes" and n.value == 10]
    form_inputs[-1].set_value(25)
    next(t for t in at.text_input if t.label.startswith("Why is it changing")).input("It was a double appointment")
    next(b for b in at.button if b.label == "Save correction").click()
    at.run()
    h = history(platform.engine, entry)
    assert h["minutes"].tolist() == [10, 25] and h["change_reason"].iloc[1] == "It was a double appointment"


def severe_with_risk(platform) -> int:
    """Issue 16, item 11: PHQ-9 26 with item 9 = 2 two days ago, and a routine reason."""
    pid = platform.patient("SEVERE", enrolled_days_ago=20)
    platform.module(pid, "depression", 1, started_days_ago=19)
    platform.phq9(pid, 2, 26, item9=2)
    platform.message(pid, 3)
    return pid


def handle(at: AppTest, risk_note: str | None = None) -> AppTest:
    if risk_note is not None:
        next(c for c in at.checkbox if c.label.startswith("**Risk answer**")).check()
        next(t for t in at.text_area if t.label.startswith("Note for the risk answer")).input(risk_note)
    next(b for b in at.button if b.label == "Mark selected handled").click()
    return at.run()


def test_reasons_are_handled_from_the_patient_page_and_the_severe_score_still_shows(platform):
    severe_with_risk(platform)
    at = open_patient("ther.a", "SEVERE")
    boxes = {c.label.split("**")[1]: c.value for c in at.checkbox}
    assert boxes["Risk answer"] is False and boxes["Awaiting reply"] is True  # risk never preselected
    handle(at, "Called the patient; safety plan reviewed with them.")
    assert not at.exception
    assert at.success[0].value.startswith("Handled for SEVERE by you: Risk answer, Awaiting reply")
    assert not at.checkbox  # nothing left to handle
    shown = text_of(at)
    assert "No flags" not in shown
    assert any(i.value.startswith("No open reasons: every reason") for i in at.info)
    handled = [c.value for c in at.caption if c.value.startswith("Handled: risk answer")]
    assert handled and "marked by Therapist A (ther.a)" in handled[0] and "safety plan reviewed" in handled[0]
    assert any("PHQ-9 26 on" in w.value and "is still in the severe band" in w.value for w in at.warning)
    assert any("answered item 9 with 2: handled, and the answer stands" in w.value for w in at.warning)


def test_a_refused_batch_on_the_patient_page_stores_nothing_and_names_the_reason(platform):
    from sqlalchemy import func, select

    from dashboard.state_tables import acknowledgements

    pid = severe_with_risk(platform)
    at = open_patient("ther.a", "SEVERE")
    platform.phq9(pid, 0.01, 27, item9=3)  # arrives while the page is open
    handle(at, "Called the patient; safety plan reviewed with them.")
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(acknowledgements)) == 0
    assert any("Newer than your screen: Risk answer. Nothing was stored." in e.value for e in at.error)
    assert "answered 3" in next(c for c in at.checkbox if c.label.startswith("**Risk answer**")).label


def test_an_answer_read_only_by_the_submit_rerun_is_not_covered(platform):
    """Pressing the button reruns the page first; when the cache has lapsed meanwhile
    (cache_ttl_seconds) that rerun reads the newer answer before the form is reached.
    The acknowledgement still covers only what the screen drew, so it is refused."""
    from sqlalchemy import func, select

    from dashboard.state_tables import acknowledgements

    pid = severe_with_risk(platform)
    at = open_patient("ther.a", "SEVERE")
    platform.phq9(pid, 0.01, 27, item9=3)  # arrives while the note is being written
    st.cache_data.clear()  # the page's cached read has expired by the time of the click
    handle(at, "Called the patient; safety plan reviewed with them.")
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(acknowledgements)) == 0
    assert any("Newer than your screen: Risk answer. Nothing was stored." in e.value for e in at.error)


def test_a_reason_that_appears_with_the_submit_rerun_is_refused_not_ticked_for_the_clinician(platform):
    """A reason drawn for the first time in the rerun of the click starts ticked (a
    routine reason) but was never on the screen: nothing is stored, and it is named.
    Here the GP asks for a step-up while the therapist's form is open."""
    from sqlalchemy import func, select

    from dashboard.gp_followups import log_followup
    from dashboard.scope import load_viewer
    from dashboard.state_tables import acknowledgements

    pid = severe_with_risk(platform)
    at = open_patient("ther.a", "SEVERE")
    form = followup_form(platform.now.date(), module_position=1, action="step_up", note="Low mood worse; add sessions")
    log_followup(
        platform.engine, platform.engine, load_viewer(platform.engine, "gp.a"), pid, form, "gp-1", platform.now
    )
    handle(at)
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(acknowledgements)) == 0
    assert any(e.value.startswith("New since your screen: GP asked for action.") for e in at.error), [
        e.value for e in at.error
    ]


def test_a_gp_reads_the_reasons_but_does_not_handle_them(platform):
    severe_with_risk(platform)
    at = open_patient("gp.a", "SEVERE")
    assert not at.checkbox and not any(b.label == "Mark selected handled" for b in at.button)
    assert any("PHQ-9 26 on" in w.value and "is in the severe band." in w.value for w in at.warning)


def test_engagement_without_activity_is_said_in_words_not_an_all_zero_chart(platform):
    """Before: an all-zero bar chart whose axis read 0.000000; now a sentence, and the chart once there is a login."""
    platform.patient("IDLE1", enrolled_days_ago=10)
    at = open_patient("ther.a", "IDLE1")
    assert "No logins or exercises yet" in text_of(at)
    assert not [c for c in charts(at) if c["description"].startswith("Logins and exercises")]
    pid = platform.patient("BUSY1", enrolled_days_ago=10)
    platform.activity(pid, 3)
    at = open_patient("ther.a", "BUSY1")
    assert "No logins or exercises yet" not in text_of(at)
    assert [c for c in charts(at) if c["description"].startswith("Logins and exercises")]


def test_follow_up_points_and_the_follow_up_section(platform):
    """Issue 20: a score 13 weeks after the end is a labelled follow-up point, never the
    episode's latest; the section says whether the recovery was maintained (3.2 re-run)."""
    pid = platform.patient("FU1", enrolled_days_ago=200, status="completed", ended_days_ago=140)
    for days, phq, gad in ((200, 15, 12), (141, 8, 6), (140 - 91, 7, 5)):  # the last: 13 weeks after the end
        platform.phq9(pid, days, phq)
        platform.gad7(pid, days, gad)
    at = open_patient("ther.a", "FU1")
    assert at.dataframe[0].value.set_index("Measure").loc["PHQ-9", "Latest"].startswith("8 (mild)")
    follow = next(df.value for df in at.dataframe if "At follow-up" in df.value.columns).set_index("Measure")
    assert follow.loc["PHQ-9", "At follow-up"] == "7 (mild)"
    assert follow.loc["PHQ-9", "When"].endswith("13 weeks after end")
    assert follow.loc["GAD-7", "Reliable change"] == "reliable improvement"  # 12 -> 5, criterion 4
    assert "recovery maintained, reliable improvement maintained" in text_of(at)
    spec = json.dumps(charts(at)[0])
    assert "follow-up, 13 weeks after end" in spec and "episode end" in spec


@pytest.mark.parametrize(
    ("status", "ended_days_ago", "words"),
    [("active", None, "episode not ended"), ("completed", 20, "no follow-up score yet")],
)
def test_without_a_follow_up_score_the_section_says_why(platform, status, ended_days_ago, words):
    pid = platform.patient("FU2", enrolled_days_ago=80, status=status, ended_days_ago=ended_days_ago)
    platform.phq9(pid, 79, 15)
    platform.phq9(pid, 25, 8)
    at = open_patient("ther.a", "FU2")
    assert words in text_of(at)
    assert not any("At follow-up" in df.value.columns for df in at.dataframe)
