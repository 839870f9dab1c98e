"""The patient record over hand-built rows, on both backends."""

from datetime import datetime, timedelta

import pytest

from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.outcomes import DETERIORATED, IMPROVED, NO_CHANGE, NO_CRITERION, anxiety_plan
from dashboard.patient import (
    current_module,
    engagement,
    episode_responses,
    find_patient,
    follow_up_outcome,
    follow_up_responses,
    follow_up_scores,
    load_record_rows,
    module_timeline,
    nhs_status,
    summaries,
    summarise_instrument,
    treatment_week,
)
from dashboard.scope import load_viewer
from dashboard.trajectory import scales
from tests.factory import Platform

NOW = datetime(2026, 11, 20, 9, 0, 0)
SETTINGS = Settings()


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def record(platform: Platform, code: str, username: str = "ther.a"):
    viewer = load_viewer(platform.engine, username)
    patient = find_patient(platform.engine, viewer, code)
    return patient, load_record_rows(platform.engine, viewer, patient, NOW, SETTINGS)


def test_out_of_scope_and_missing_codes_look_the_same(platform):
    platform.patient("IN", therapist=1)
    platform.patient("OUT", therapist=2)
    viewer = load_viewer(platform.engine, "ther.a")
    assert find_patient(platform.engine, viewer, "IN").code == "IN"
    assert find_patient(platform.engine, viewer, "OUT") is None
    assert find_patient(platform.engine, viewer, "NOPE") is None


def test_baseline_window_and_summary(platform):
    pid = platform.patient("B1", enrolled_days_ago=60)
    platform.phq9(pid, 80, 25)  # more than 14 days before enrolment: another episode
    platform.phq9(pid, 70, 16)  # 10 days before enrolment: the baseline
    platform.phq9(pid, 30, 12)
    platform.phq9(pid, 2, 9)
    patient, rows = record(platform, "B1")
    s = summarise_instrument("PHQ9", episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS))
    assert (s.n, s.baseline, s.latest, s.change) == (3, 16, 9, -7)
    assert (s.band_baseline, s.band_latest) == ("moderately severe", "mild")
    assert s.reliable_change == IMPROVED and s.caseness_baseline and not s.caseness_latest
    assert s.status == "recovered (below caseness now)"


@pytest.mark.parametrize(
    "base,latest,expected,status",
    [
        (10, 16, DETERIORATED, "not recovered (still at caseness)"),
        (10, 15, NO_CHANGE, "not recovered (still at caseness)"),
        (9, 3, IMPROVED, "not at caseness at baseline: recovery does not apply"),
    ],
)
def test_phq9_reliable_change_edges_on_the_page(platform, base, latest, expected, status):
    pid = platform.patient("E1", enrolled_days_ago=20)
    platform.phq9(pid, 19, base)
    platform.phq9(pid, 1, latest)
    patient, rows = record(platform, "E1")
    s = summarise_instrument("PHQ9", episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS))
    assert s.reliable_change == expected and s.status == status


def test_isi_response_and_remission_without_reliable_change(platform):
    pid = platform.patient("I1", "insomnia", enrolled_days_ago=40)
    platform.response(pid, "ISI", 39, [3, 3, 3, 3, 3, 2, 2])  # 19
    platform.response(pid, "ISI", 1, [1, 1, 1, 1, 1, 1, 1])  # 7: decrease 12, below 8
    patient, rows = record(platform, "I1")
    s = summarise_instrument("ISI", episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS))
    assert s.reliable_change == NO_CRITERION
    assert s.status == "response (decrease of 8 or more); remission (below 8)"
    assert (s.band_baseline, s.band_latest) == ("clinical, moderate", "no clinically significant insomnia")


def test_pdss_says_it_has_no_criterion(platform):
    pid = platform.patient("D1", "panic", enrolled_days_ago=40)
    platform.response(pid, "PDSS", 39, [3, 3, 3, 3, 3, 2, 2])
    platform.response(pid, "PDSS", 1, [0, 0, 0, 1, 1, 1, 1])
    patient, rows = record(platform, "D1")
    s = summarise_instrument("PDSS", episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS))
    assert s.band_latest is None and s.caseness_latest is None and s.reliable_change == NO_CRITERION
    assert "no cut-off" in s.status


def test_nhs_paired_status_needs_both_measures_paired(platform):
    pid = platform.patient("N1", enrolled_days_ago=40)
    platform.phq9(pid, 39, 15)
    platform.gad7(pid, 39, 12)
    platform.phq9(pid, 1, 8)
    patient, rows = record(platform, "N1")
    plan = anxiety_plan(patient.programme_code, SETTINGS)
    assert (
        nhs_status(episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS), plan, SETTINGS)
        is None
    )
    platform.gad7(pid, 1, 6)
    patient, rows = record(platform, "N1")
    paired = nhs_status(
        episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS), plan, SETTINGS
    )
    assert paired.measures_text == "PHQ-9 and GAD-7"
    out = paired.outcome
    assert out.recovery and out.reliable_improvement and out.reliable_recovery  # section 8, first vector


def test_module_timeline_due_dates_and_overdue(platform):
    pid = platform.patient("M1", "insomnia", enrolled_days_ago=30)
    platform.module(pid, "insomnia", 1, 29, 25)  # due day 7: on time
    platform.module(pid, "insomnia", 2, 24, 12)  # due day 14, completed day 18 > 14 + 2: late
    platform.module(pid, "insomnia", 3, 11)  # due day 21, now day 30: overdue (started)
    patient, rows = record(platform, "M1")
    tl = module_timeline(rows.modules, patient.enrolled_at, NOW, SETTINGS)
    assert list(tl["state"]) == [
        "completed",
        "completed late",
        "overdue (started)",
        "overdue (not started)",
        "not started",
        "not started",
    ]
    assert tl["due_at"].iloc[0] == patient.enrolled_at + timedelta(days=7)
    assert current_module(tl) == 3


def test_module_overdue_edge_is_exactly_two_days_after_due(platform):
    pid = platform.patient("M2", "insomnia", enrolled_days_ago=9)  # module 1 due day 7, overdue from day 9
    platform.module(pid, "insomnia", 1, 8)
    patient, rows = record(platform, "M2")
    assert module_timeline(rows.modules, patient.enrolled_at, NOW, SETTINGS)["state"].iloc[0] == "overdue (started)"
    just_before = NOW - timedelta(seconds=1)
    assert module_timeline(rows.modules, patient.enrolled_at, just_before, SETTINGS)["state"].iloc[0] == "in progress"


def test_engagement_waiting_and_contact(platform):
    pid = platform.patient("G1", enrolled_days_ago=20)
    platform.message(pid, 10, "to_patient", clinician=1)
    platform.message(pid, 5, "from_patient")
    platform.message(pid, 4, "to_patient", clinician=None)  # automated: not contact
    platform.message(pid, 3, "from_patient")
    platform.activity(pid, 3, "login")
    platform.activity(pid, 3, "exercise")
    patient, rows = record(platform, "G1")
    e = engagement(rows, patient.enrolled_at, NOW)
    assert e.last_clinician_contact == NOW - timedelta(days=10)
    assert e.waiting_since == NOW - timedelta(days=5)
    week3 = e.weekly.set_index("week").loc[3]
    assert (week3.logins, week3.exercises, week3.from_patient) == (1, 1, 2)  # days 15 and 17 are both week 3
    assert e.weekly["to_patient"].sum() == 1


def test_treatment_week_boundaries():
    import pandas as pd

    enrolled = datetime(2026, 1, 1)
    ts = pd.Series(
        [
            enrolled,
            enrolled + timedelta(days=6, hours=23),
            enrolled + timedelta(days=7),
            enrolled + timedelta(days=27, hours=23),
            enrolled - timedelta(days=1),
        ]
    )
    assert list(treatment_week(ts, enrolled)) == [1, 1, 2, 4, 0]


@pytest.mark.parametrize(
    ("after_end_days", "phq", "gad"),
    [
        (1, 22, 18),  # the day after the end: after the episode, whatever it scores
        (30, 22, 18),  # in the follow-up window: a follow-up score, not the outcome
        (200, 3, 2),  # long after: an improvement there is not the episode's either
    ],
)
def test_a_score_after_the_end_is_not_the_episodes_latest(platform, after_end_days, phq, gad):
    """One episode definition (issue 20): the first and last valid scores in [enrolment - 14
    days, end], as on the Caseload. Section 8's first vector: PHQ-9 15 -> 8 and GAD-7 12 -> 6
    is recovery, reliable improvement and reliable recovery, whatever comes after the end."""
    pid = platform.patient("E1", enrolled_days_ago=300, status="completed", ended_days_ago=240)
    platform.phq9(pid, 305, 15)  # 5 days before enrolment: in the baseline window
    platform.gad7(pid, 305, 12)
    platform.phq9(pid, 240, 8)  # on the end day: the episode's last
    platform.gad7(pid, 240, 6)
    platform.phq9(pid, 240 - after_end_days, phq)
    platform.gad7(pid, 240 - after_end_days, gad)
    patient, rows = record(platform, "E1")
    episode = episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS)
    s = summarise_instrument("PHQ9", episode)
    assert (s.n, s.baseline, s.latest) == (2, 15, 8)
    out = nhs_status(episode, anxiety_plan(patient.programme_code, SETTINGS), SETTINGS).outcome
    assert (out.recovery, out.reliable_improvement, out.reliable_recovery, out.reliable_deterioration) == (
        True,
        True,
        True,
        False,
    )


END_DAYS_AGO = 200  # the episode ended 200 days before NOW; follow-up is 4-26 weeks (28-182 days) after


def finished(platform: Platform, code: str) -> int:
    """Section 8's first vector at the end of treatment: PHQ-9 15 -> 8, GAD-7 12 -> 6 (recovered, reliably)."""
    pid = platform.patient(code, enrolled_days_ago=END_DAYS_AGO + 60, status="completed", ended_days_ago=END_DAYS_AGO)
    for days, phq, gad in ((END_DAYS_AGO + 60, 15, 12), (END_DAYS_AGO + 1, 8, 6)):
        platform.phq9(pid, days, phq)
        platform.gad7(pid, days, gad)
    return pid


def follow_up_of(platform: Platform, code: str):
    patient, rows = record(platform, code)
    episode = episode_responses(rows.responses, patient.enrolled_at, patient.ended_at, SETTINGS)
    follow_up = follow_up_responses(rows.responses, patient.ended_at, SETTINGS)
    outcomes = summaries(episode, scales(episode, "PHQ9"))
    plan = anxiety_plan(patient.programme_code, SETTINGS)
    return follow_up_scores(outcomes, follow_up, patient.ended_at), follow_up_outcome(
        episode, follow_up, plan, SETTINGS
    )


@pytest.mark.parametrize(
    ("weeks", "phq", "gad", "shown", "recovery", "improvement"),
    [
        (13, 7, 5, {"PHQ9": (7, IMPROVED, 13), "GAD7": (5, IMPROVED, 13)}, True, True),  # maintained
        (13, 14, 10, {"PHQ9": (14, NO_CHANGE, 13), "GAD7": (10, NO_CHANGE, 13)}, False, False),  # relapse
        (3, 7, 5, {}, None, None),  # 3 weeks after the end: not in the window
        (27, 7, 5, {}, None, None),  # 27 weeks: not in the window either
    ],
)
def test_follow_up_scores_and_maintained_on_a_hand_built_patient(
    platform, weeks, phq, gad, shown, recovery, improvement
):
    pid = finished(platform, "F1")
    platform.phq9(pid, END_DAYS_AGO - 7 * weeks, phq)
    platform.gad7(pid, END_DAYS_AGO - 7 * weeks, gad)
    scores, kept = follow_up_of(platform, "F1")
    assert {f.summary.instrument: (f.score, f.reliable_change, f.weeks_after_end) for f in scores} == shown
    assert (kept.assessable, kept.recovery, kept.reliable_improvement) == (bool(shown), recovery, improvement)
    assert kept.end.outcome.recovery  # the end-of-treatment outcome is the episode's whatever follows


def test_only_one_measure_at_follow_up_is_not_assessable(platform):
    pid = finished(platform, "F2")
    platform.phq9(pid, END_DAYS_AGO - 7 * 13, 7)
    platform.phq9(pid, END_DAYS_AGO - 7 * 40, 20)  # 40 weeks: outside, never the follow-up's latest
    scores, kept = follow_up_of(platform, "F2")
    assert [(f.summary.instrument, f.score) for f in scores] == [("PHQ9", 7)]
    assert not kept.assessable and kept.why == "no GAD-7 score at follow-up"
