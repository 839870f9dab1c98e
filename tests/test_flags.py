"""The flag engine at the exact edges of each threshold, on SQLite and PostgreSQL.

Times are given in days before NOW; 7 days is exactly 7 x 24 h (docs/design.md, Time)."""

from datetime import datetime, timedelta

import pytest

from dashboard.config import Settings
from dashboard.engine import make_engine
from dashboard.flags import (
    FLAG_KINDS,
    HIGH_RISK_PRIORITY,
    PENDING_REPLY_PRIORITY,
    evaluate,
    load_inputs,
    rank_patients,
)
from dashboard.scope import load_viewer
from tests.factory import Platform

NOW = datetime(2026, 11, 20, 9, 0, 0)
SECOND = 1 / 86400  # in days
SETTINGS = Settings()


@pytest.fixture
def platform(db_url) -> Platform:
    return Platform(make_engine(db_url), NOW)


def flags_of(platform: Platform, username: str = "ther.a"):
    viewer = load_viewer(platform.engine, username)
    inputs = load_inputs(platform.engine, viewer, NOW, SETTINGS)
    return evaluate(inputs, NOW, SETTINGS), inputs


def flag_map(platform: Platform, code_to_id: dict[str, int]) -> dict[str, dict[str, str]]:
    flags, _ = flags_of(platform)
    by_id = {v: k for k, v in code_to_id.items()}
    out: dict[str, dict[str, str]] = {code: {} for code in code_to_id}
    for row in flags.itertuples():
        out[by_id[row.patient_id]][row.flag] = row.reason
    return out


def quiet_patient(platform: Platform, code: str, enrolled_days_ago: float = 3, **kw) -> int:
    """A patient who raises nothing by themselves: recent contact, activity, module
    and questionnaire. Tests then add the one condition under test."""
    pid = platform.patient(code, enrolled_days_ago=enrolled_days_ago, **kw)
    platform.module(pid, "depression", 1, min(enrolled_days_ago, 1))
    platform.phq9(pid, min(enrolled_days_ago, 1), 8)
    platform.gad7(pid, min(enrolled_days_ago, 1), 6)
    platform.message(pid, enrolled_days_ago - 0.01, "to_patient", clinician=1)  # a welcome message
    return pid


def test_quiet_patient_has_no_flags(platform):
    pid = quiet_patient(platform, "Q")
    assert flag_map(platform, {"Q": pid}) == {"Q": {}}


def test_inactive_tiers_at_exact_edges(platform):
    ids = {}
    for code, idle in [("I7", 7), ("I7-", 7 - SECOND), ("I14", 14), ("I28", 28), ("I27", 28 - SECOND)]:
        pid = platform.patient(code, enrolled_days_ago=60)
        platform.activity(pid, idle)
        ids[code] = pid
    got = flag_map(platform, ids)
    assert got["I7"]["inactive"] == "no activity for 7 days"
    assert "inactive" not in got["I7-"]
    assert got["I14"]["inactive"] == "at risk of drop-out: no activity for 14 days"
    assert got["I28"]["inactive"] == "lapsed: no activity for 28 days"
    assert got["I27"]["inactive"] == "at risk of drop-out: no activity for 27 days"


def test_awaiting_reply_pending_then_overdue_at_48_hours(platform):
    ids = {}
    for code, hours in [("R48", 48), ("R47", 48 - 1 / 3600), ("R3", 3)]:
        pid = quiet_patient(platform, code)
        platform.message(pid, hours_ago=hours, direction="from_patient")
        ids[code] = pid
    contacted = quiet_patient(platform, "RC")
    platform.message(contacted, hours_ago=30, direction="from_patient")
    platform.message(contacted, hours_ago=20, direction="to_patient", clinician=1)
    automated = quiet_patient(platform, "RA")
    platform.message(automated, hours_ago=30, direction="from_patient")
    platform.message(automated, hours_ago=20, direction="to_patient", clinician=None)  # a reminder is not a reply
    ids.update(RC=contacted, RA=automated)
    flags, _ = flags_of(platform)
    reply = flags[flags["flag"] == "awaiting_reply"].set_index("patient_id")
    assert reply.loc[ids["R48"], "priority"] == FLAG_KINDS["awaiting_reply"].priority
    assert reply.loc[ids["R48"], "reason"] == "unanswered message for 2 days"
    assert reply.loc[ids["R47"], "priority"] == PENDING_REPLY_PRIORITY
    assert reply.loc[ids["R3"], "reason"] == "unanswered message for 3 h: reply within 48 h"
    assert ids["RC"] not in reply.index and ids["RA"] in reply.index


def test_waiting_runs_from_the_earliest_message_since_contact(platform):
    pid = quiet_patient(platform, "W", enrolled_days_ago=10)
    platform.message(pid, 5, "from_patient")
    platform.message(pid, 1, "from_patient")
    flags, _ = flags_of(platform)
    row = flags[flags["flag"] == "awaiting_reply"].iloc[0]
    assert row["since"] == NOW - timedelta(days=5)


def test_feedback_due_after_48_hours_without_contact(platform):
    ids = {}
    for code, hours in [("F48", 48), ("F47", 47.99)]:
        pid = platform.patient(code, enrolled_days_ago=10)
        platform.message(pid, 9, "to_patient", clinician=1)
        platform.module(pid, "depression", 1, 8, hours / 24)
        ids[code] = pid
    answered = platform.patient("FA", enrolled_days_ago=10)
    platform.module(answered, "depression", 1, 8, 3)
    platform.message(answered, 1, "to_patient", clinician=1)  # feedback given after the completion
    ids["FA"] = answered
    got = flag_map(platform, ids)
    assert got["F48"]["feedback_due"] == "module completed 2 days ago with no clinician contact since"
    assert "feedback_due" not in got["F47"] and "feedback_due" not in got["FA"]


def test_not_started_at_14_days(platform):
    ids = {
        "N14": platform.patient("N14", enrolled_days_ago=14),
        "N13": platform.patient("N13", enrolled_days_ago=14 - SECOND),
    }
    started = platform.patient("NS", enrolled_days_ago=20)
    platform.module(started, "depression", 1, 1)
    ids["NS"] = started
    got = flag_map(platform, ids)
    assert got["N14"]["not_started"] == "no module started 14 days after enrolment"
    assert "not_started" not in got["N13"] and "not_started" not in got["NS"]


def test_no_contact_at_7_days_and_automated_messages_do_not_count(platform):
    ids = {}
    for code, days in [("C7", 7), ("C6", 7 - SECOND)]:
        pid = platform.patient(code, enrolled_days_ago=20)
        platform.message(pid, days, "to_patient", clinician=1)
        ids[code] = pid
    auto = platform.patient("CA", enrolled_days_ago=8)
    platform.message(auto, 1, "to_patient", clinician=None)
    ids["CA"] = auto
    got = flag_map(platform, ids)
    assert got["C7"]["no_contact"] == "no clinician contact for 7 days"
    assert "no_contact" not in got["C6"]
    assert got["CA"]["no_contact"] == "no clinician contact yet for 8 days"


def test_questionnaire_overdue_at_14_days_on_the_primary_measure(platform):
    ids = {}
    for code, days in [("Q14", 14), ("Q13", 14 - SECOND)]:
        pid = platform.patient(code, "anxiety", enrolled_days_ago=30)
        platform.gad7(pid, days, 9)
        platform.phq9(pid, 1, 9)  # not the programme's primary measure
        ids[code] = pid
    got = flag_map(platform, ids)
    assert got["Q14"]["questionnaire_overdue"] == "no GAD-7 for 14 days"
    assert "questionnaire_overdue" not in got["Q13"]


def test_risk_priorities_and_a_later_zero_does_not_clear(platform):
    one = quiet_patient(platform, "K1", enrolled_days_ago=10)
    platform.phq9(one, 5, 12, item9=1)
    platform.phq9(one, 0.5, 6, item9=0)
    two = quiet_patient(platform, "K2", enrolled_days_ago=10)
    platform.phq9(two, 2, 15, item9=2)
    flags, _ = flags_of(platform)
    risk = flags[flags["flag"] == "risk"].set_index("patient_id")
    assert risk.loc[one, "priority"] == FLAG_KINDS["risk"].priority
    assert risk.loc[one, "reason"].startswith("PHQ-9 item 9 answered 1 on 15 Nov")
    assert risk.loc[two, "priority"] == HIGH_RISK_PRIORITY


def test_item9_zero_is_not_a_risk_and_missing_item9_is_unknown(platform):
    zero = quiet_patient(platform, "Z0")
    missing = quiet_patient(platform, "Z9")
    platform.response(missing, "PHQ9", 0.5, [1, 1, 1, 1, 1, 1, 1, 1, None])
    total_only = quiet_patient(platform, "ZT")
    platform.response(total_only, "PHQ9", 0.5, None, total=12)
    resolved = quiet_patient(platform, "ZR")
    platform.response(resolved, "PHQ9", 0.8, [1, 1, 1, 1, 1, 1, 1, 1, None])
    platform.phq9(resolved, 0.5, 9, item9=0)
    got = flag_map(platform, {"Z0": zero, "Z9": missing, "ZT": total_only, "ZR": resolved})
    assert got["Z0"] == {}
    assert "item 9 unanswered" in got["Z9"]["risk_unknown"] and "risk" not in got["Z9"]
    assert "risk_unknown" in got["ZT"]
    assert "risk_unknown" not in got["ZR"]


# clinical-reference 1.5: "any item-9 score > 0 raises a risk alert". After a completed
# or withdrawn episode ended, answers are triaged until the later of risk_after_end_days
# (30) and the close of the follow-up window, follow_up_to_weeks (26) after the end.
WEEK = 7


@pytest.mark.parametrize(
    "status,weeks_after_end,item9,reason",
    [
        ("withdrawn", 0.5 / WEEK, 1, "PHQ-9 item 9 answered 1 on 06 Nov, less than a day after the episode ended"),
        ("withdrawn", 10 / WEEK, 1, "PHQ-9 item 9 answered 1 on 06 Nov, 10 days after the episode ended"),
        ("completed", 2, 1, "PHQ-9 item 9 answered 1 on 20 Nov, 2 weeks after the episode ended"),
        ("completed", 12, 2, "PHQ-9 item 9 answered 2 on 20 Nov, at follow-up, 12 weeks after the episode ended"),
        ("withdrawn", 12, 3, "PHQ-9 item 9 answered 3 on 20 Nov, at follow-up, 12 weeks after the episode ended"),
        ("completed", 26, 1, "PHQ-9 item 9 answered 1 on 20 Nov, at follow-up, 26 weeks after the episode ended"),
        ("completed", 26 + SECOND / WEEK, 1, None),  # the window has closed: the service's own protocol applies
        ("completed", 27, 2, None),
        ("completed", 12, 0, None),  # item 9 = 0 raises nothing (and is never shown as "no risk")
    ],
)
def test_risk_after_the_episode_ended_up_to_the_end_of_the_follow_up_window(
    platform, status, weeks_after_end, item9, reason
):
    """Answered weeks_after_end after the end: just now, or (the 10-day answer) 14 days
    ago, so an answer of the window stays in triage after it was given."""
    days = weeks_after_end * WEEK
    ago = 14 if weeks_after_end < 2 else 0
    pid = platform.patient("F", status=status, enrolled_days_ago=days + ago + 60, ended_days_ago=days + ago)
    platform.phq9(pid, ago, 14, item9=item9)
    got = flag_map(platform, {"F": pid})["F"]
    assert got == ({} if reason is None else {"risk": reason})  # only risk after the end: no inactive, no contact...


def test_risk_answered_before_the_end_is_triaged_while_the_window_is_open(platform):
    """An answer from treatment stays in triage after the end, without the follow-up words."""
    pid = platform.patient("B", status="completed", enrolled_days_ago=120, ended_days_ago=60)
    platform.phq9(pid, 61, 14, item9=1)
    assert flag_map(platform, {"B": pid})["B"] == {"risk": "PHQ-9 item 9 answered 1 on 20 Sep"}


@pytest.mark.parametrize(
    "risk_days,from_weeks,to_weeks,answered_days_after_end,triaged",
    [
        (30, 8, 26, 40, True),  # the window opens after risk_after_end_days: no silent gap between them
        (30, 8, 26, 182, True),
        (30, 8, 26, 183, False),
        (200, 4, 26, 190, True),  # risk_after_end_days is the later end: it wins
        (200, 4, 26, 201, False),
    ],
)
def test_risk_is_triaged_until_the_later_of_the_two_ends(
    platform, risk_days, from_weeks, to_weeks, answered_days_after_end, triaged
):
    settings = Settings(
        {
            **SETTINGS.values,
            "risk_after_end_days": risk_days,
            "follow_up_from_weeks": from_weeks,
            "follow_up_to_weeks": to_weeks,
        }
    )
    pid = platform.patient("G", status="completed", enrolled_days_ago=400, ended_days_ago=answered_days_after_end)
    platform.phq9(pid, 0, 14, item9=1)
    inputs = load_inputs(platform.engine, load_viewer(platform.engine, "ther.a"), NOW, settings)
    flags = evaluate(inputs, NOW, settings)
    assert (list(flags["flag"]) == ["risk"]) is triaged


@pytest.mark.parametrize(
    "answered_weeks_after_end,days_since_answer,triaged",
    [
        (26, 29, True),  # answered on the span's last day: still in the list 29 days on
        (26, 30, True),
        (26, 31, False),  # risk_after_end_days (30) after the span closed, the list lets go
        (0, 212, True),  # an answer from the last day of treatment: span (182 days) + 30
        (0, 213, False),
    ],
)
def test_an_answer_on_the_spans_last_day_has_as_long_in_the_list(
    platform, answered_weeks_after_end, days_since_answer, triaged
):
    """Before, the flag closed with the span: an answer given on its last day left the
    list the next day, before anyone could be escalated to. Now every answer of the span
    stays risk_after_end_days (30) after the span closed, until acknowledged."""
    ended = answered_weeks_after_end * WEEK + days_since_answer
    pid = platform.patient("L", status="completed", enrolled_days_ago=ended + 60, ended_days_ago=ended)
    platform.phq9(pid, days_since_answer, 14, item9=2)
    got = flag_map(platform, {"L": pid})["L"]
    assert ("risk" in got) is triaged


def test_closed_episodes_are_read_up_to_the_end_of_the_widest_window(platform):
    """Triage reads responses only of patients who can still be flagged or be due a
    GP follow-up: the risk span (26 weeks, the later of risk_after_end_days and
    follow_up_to_weeks) and risk_after_end_days (30) more for its last answers to stay,
    and followup_after_end_days (28) after the end, with a day's margin. 212 days after
    the end an answer from treatment still counts; a second after 213 days the closed
    episode's responses are not read at all, and an unknown status is always read."""
    edge = platform.patient("W212", status="withdrawn", enrolled_days_ago=330, ended_days_ago=212)
    platform.phq9(edge, 220, 14, item9=1)
    past = platform.patient("W213", status="completed", enrolled_days_ago=330, ended_days_ago=213 + SECOND)
    platform.phq9(past, 220, 14, item9=2)
    odd = platform.patient("W99", status="on_hold", enrolled_days_ago=400, ended_days_ago=300)
    platform.phq9(odd, 350, 14, item9=0)
    flags, inputs = flags_of(platform)
    assert set(inputs.responses["patient_id"]) == {edge, odd}
    assert set(flags.loc[flags["flag"] == "risk", "patient_id"]) == {edge}
    assert set(inputs.patients["patient_id"]) == {edge, past, odd}  # still listed, only not re-scored


@pytest.mark.parametrize(
    "instrument,base,last,fires",
    [("PHQ9", 10, 16, True), ("PHQ9", 10, 15, False), ("GAD7", 8, 12, True), ("GAD7", 8, 11, False)],
)
def test_deterioration_at_the_reliable_change_edge(platform, instrument, base, last, fires):
    pid = platform.patient("D", enrolled_days_ago=20)
    add, other = (platform.phq9, platform.gad7) if instrument == "PHQ9" else (platform.gad7, platform.phq9)
    add(pid, 19, base)  # baseline: the first valid response of the episode
    add(pid, 0.5, last)
    other(pid, 19, 5)
    other(pid, 0.5, 5)
    got = flag_map(platform, {"D": pid})["D"]
    assert ("deterioration" in got) is fires


@pytest.mark.parametrize(
    "elapsed_days,score,baseline,fires",
    [
        (21, 17, 10, True),  # day 22 of treatment: the first day of week 4
        (21 - SECOND, 17, 10, False),  # still week 3
        (28 - SECOND, 17, 10, True),  # the last moment of day 28
        (21, 16, 10, False),  # below 17
        (21, 17, 9, False),  # baseline below 10: the cut points do not apply
    ],
)
def test_not_on_track_week_4_window(platform, elapsed_days, score, baseline, fires):
    enrolled = 40
    pid = platform.patient("T", enrolled_days_ago=enrolled)
    platform.phq9(pid, enrolled - 0.1, baseline)
    platform.phq9(pid, enrolled - elapsed_days, score)
    got = flag_map(platform, {"T": pid})["T"]
    assert ("not_on_track" in got) is fires
    if fires:
        assert got["not_on_track"].startswith(f"PHQ-9 {score} in week 4")


def test_queue_order_across_mixed_flags(platform):
    ids = {}
    ids["inactive"] = platform.patient("A-INACTIVE", enrolled_days_ago=60)
    platform.activity(ids["inactive"], 20)
    platform.message(ids["inactive"], 1, "to_patient", clinician=1)
    ids["high"] = quiet_patient(platform, "B-HIGH-RISK")
    platform.phq9(ids["high"], 0.5, 20, item9=3)
    ids["risk"] = quiet_patient(platform, "C-RISK")
    platform.phq9(ids["risk"], 0.5, 10, item9=1)
    ids["reply_old"] = quiet_patient(platform, "D-REPLY-OLD", enrolled_days_ago=10)
    platform.message(ids["reply_old"], 4, "from_patient")
    ids["reply_new"] = quiet_patient(platform, "E-REPLY-NEW", enrolled_days_ago=10)
    platform.message(ids["reply_new"], 3, "from_patient")
    ids["pending"] = quiet_patient(platform, "F-PENDING")
    platform.message(ids["pending"], hours_ago=5, direction="from_patient")
    flags, inputs = flags_of(platform)
    order = list(rank_patients(flags, inputs.patients)["code"])
    assert order == ["B-HIGH-RISK", "C-RISK", "D-REPLY-OLD", "E-REPLY-NEW", "F-PENDING", "A-INACTIVE"]


def test_a_patient_with_several_flags_appears_once_with_all_reasons(platform):
    pid = platform.patient("MULTI", enrolled_days_ago=40)
    platform.phq9(pid, 39, 12)
    platform.phq9(pid, 20, 19, item9=1)
    flags, inputs = flags_of(platform)
    q = rank_patients(flags, inputs.patients)
    assert len(q) == 1
    assert q.iloc[0]["flags"][0] == "risk" and {"deterioration", "inactive", "no_contact"} <= set(q.iloc[0]["flags"])
    assert len(q.iloc[0]["reasons"]) == len(flags)


def test_therapist_never_sees_another_therapists_patients(platform):
    mine = platform.patient("MINE", therapist=1, enrolled_days_ago=30)
    theirs = platform.patient("THEIRS", therapist=2, enrolled_days_ago=30)
    flags, inputs = flags_of(platform, "ther.a")
    assert set(inputs.patients["patient_id"]) == {mine} and set(flags["patient_id"]) == {mine}
    assert theirs not in set(inputs.responses.get("patient_id", []))
