"""Acknowledgements, re-raise rules, expiry, escalation and the CLI, on both backends."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from dashboard import audit
from dashboard.acks import AckRefused, Choice, acknowledge_batch, evidence_keys
from dashboard.cli.queue import main as queue_main
from dashboard.cli.queue import queue_records
from dashboard.config import Settings
from dashboard.flags import add_working_days
from dashboard.scope import load_viewer
from dashboard.state_tables import acknowledgements
from dashboard.triage import UNASSIGNED, triage
from tests.conftest import PLATFORM_NOW as NOW  # a Friday
from tests.factory import Platform

SETTINGS = Settings()
ACK_AT = NOW - timedelta(hours=12)  # acknowledged this morning; "new" events come after it


def open_flags(platform: Platform, at: datetime = NOW, user: str = "ther.a") -> dict[int, set[str]]:
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, user), at, SETTINGS)
    out: dict[int, set[str]] = {}
    for row in t.open_flags.itertuples():
        out.setdefault(row.patient_id, set()).add(row.flag)
    return out


def ack(platform: Platform, pid: int, flag: str, at: datetime = NOW, user: str = "ther.a", note: str | None = None):
    viewer = load_viewer(platform.engine, user)
    t = triage(platform.engine, platform.engine, viewer, at, SETTINGS)
    rows = t.open_flags[(t.open_flags["patient_id"] == pid) & (t.open_flags["flag"] == flag)]
    assert not rows.empty
    choice = Choice(flag, frozenset(evidence_keys(rows)), note)
    acknowledge_batch(platform.engine, platform.engine, viewer, pid, [choice], at, SETTINGS)


def active_patient(platform: Platform, code: str, enrolled_days_ago: float = 5) -> int:
    pid = platform.patient(code, enrolled_days_ago=enrolled_days_ago)
    platform.message(pid, enrolled_days_ago - 0.01, "to_patient", clinician=1)
    platform.module(pid, "depression", 1, 1)
    platform.phq9(pid, 1, 8)
    platform.gad7(pid, 1, 6)
    return pid


def test_acknowledged_reason_leaves_the_queue_and_keeps_who(platform):
    pid = active_patient(platform, "A1")
    platform.message(pid, 3, "from_patient")
    assert open_flags(platform)[pid] == {"awaiting_reply"}
    ack(platform, pid, "awaiting_reply")
    assert pid not in open_flags(platform)
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), NOW, SETTINGS)
    assert t.acknowledged.iloc[0]["acked_by"] == "ther.a"
    assert audit.read(platform.engine, actor="ther.a")["action"].tolist() == ["acknowledge"]


def test_new_patient_message_raises_awaiting_reply_again(platform):
    pid = active_patient(platform, "A2")
    platform.message(pid, 3, "from_patient")
    ack(platform, pid, "awaiting_reply", at=ACK_AT)
    assert "awaiting_reply" not in open_flags(platform).get(pid, set())
    platform.message(pid, 0, "from_patient", hours_ago=1)
    assert "awaiting_reply" in open_flags(platform)[pid]


def test_new_risk_answer_raises_risk_again_but_a_zero_does_not(platform):
    pid = active_patient(platform, "R1")
    platform.phq9(pid, 2, 12, item9=1)
    ack(platform, pid, "risk", at=ACK_AT, note="Phoned patient, safety plan reviewed.")
    platform.phq9(pid, 0.3, 10, item9=0)
    assert "risk" not in open_flags(platform).get(pid, set())
    platform.phq9(pid, 0.1, 11, item9=2)
    assert "risk" in open_flags(platform)[pid]


def test_risk_acknowledgement_without_a_note_is_refused_and_stores_nothing(platform):
    pid = active_patient(platform, "R2")
    platform.phq9(pid, 2, 12, item9=1)
    for note in (None, "", "   ", "ok"):
        with pytest.raises(AckRefused, match="needs a note of at least 10 characters"):
            ack(platform, pid, "risk", note=note)
    with platform.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(acknowledgements)) == 0
    assert audit.read(platform.engine).empty
    assert "risk" in open_flags(platform)[pid]


def test_newly_completed_module_raises_feedback_due_again(platform):
    pid = platform.patient("F1", enrolled_days_ago=20)
    platform.message(pid, 19, "to_patient", clinician=1)
    platform.module(pid, "depression", 1, 15, 5)
    ack(platform, pid, "feedback_due", at=ACK_AT)
    assert "feedback_due" not in open_flags(platform)[pid]
    platform.module(pid, "depression", 2, 4, 0.1)
    platform.module(pid, "depression", 3, 0.1)  # keeps the patient active and started
    assert "feedback_due" in open_flags(platform)[pid]  # still no feedback since the first completion
    assert "feedback_due" in open_flags(platform)[pid]


def test_new_response_still_reliably_worse_raises_deterioration_again(platform):
    pid = active_patient(platform, "D1", enrolled_days_ago=30)
    platform.phq9(pid, 29, 10)
    platform.phq9(pid, 0.9, 17)
    ack(platform, pid, "deterioration", at=ACK_AT)
    assert "deterioration" not in open_flags(platform).get(pid, set())
    platform.phq9(pid, 0.1, 18)
    assert "deterioration" in open_flags(platform)[pid]


def test_inactive_tier_rising_raises_it_again_and_acks_expire(platform):
    pid = platform.patient("I1", enrolled_days_ago=60)
    platform.activity(pid, 8)
    platform.message(pid, 1, "to_patient", clinician=1)
    ack(platform, pid, "inactive")
    assert "inactive" not in open_flags(platform, NOW + timedelta(days=5))[pid]  # tier 7 (day 13 of idleness)
    assert "inactive" in open_flags(platform, NOW + timedelta(days=6))[pid]  # 14 days idle: at risk of drop-out


@pytest.mark.parametrize("flag", ["no_contact", "questionnaire_overdue", "inactive"])
def test_expiring_acknowledgements_after_seven_days(platform, flag):
    pid = platform.patient("E1", "anxiety", enrolled_days_ago=60)
    platform.activity(pid, 30 if flag == "inactive" else 0.5)  # 30 days idle: lapsed, no further tier to reach
    platform.module(pid, "anxiety", 1, 40)
    platform.gad7(
        pid, {"questionnaire_overdue": 20, "inactive": 30}.get(flag, 0.5), 8
    )  # a questionnaire is activity too
    platform.message(pid, 9 if flag == "no_contact" else 0.5, "to_patient", clinician=1)
    assert flag in open_flags(platform)[pid]
    ack(platform, pid, flag)
    later = NOW + timedelta(days=7) - timedelta(seconds=1)
    assert flag not in open_flags(platform, later).get(pid, set())
    assert flag in open_flags(platform, NOW + timedelta(days=7))[pid]


def test_new_response_still_off_track_raises_not_on_track_again(platform):
    pid = platform.patient("T1", enrolled_days_ago=25)
    platform.phq9(pid, 24.9, 18)  # baseline >= 10
    platform.phq9(pid, 3, 19)  # day 23: week 4, >= 17
    ack(platform, pid, "not_on_track", at=ACK_AT)
    assert "not_on_track" not in open_flags(platform).get(pid, set())
    platform.phq9(pid, 0.1, 18)  # day 25: still week 4, still >= 17
    assert "not_on_track" in open_flags(platform)[pid]


def test_not_started_acknowledgement_does_not_expire(platform):
    pid = platform.patient("N1", enrolled_days_ago=15)
    platform.message(pid, 0.5, "to_patient", clinician=1)
    ack(platform, pid, "not_started")
    assert "not_started" not in open_flags(platform, NOW + timedelta(days=30)).get(pid, set())


def test_scope_and_role_are_checked_in_the_data_layer(platform):
    pid = platform.patient("S1", therapist=2, enrolled_days_ago=20)
    viewer = load_viewer(platform.engine, "ther.a")
    nothing_seen = Choice("inactive", frozenset())
    with pytest.raises(AckRefused, match="No such patient in your caseload"):
        acknowledge_batch(platform.engine, platform.engine, viewer, pid, [nothing_seen], NOW, SETTINGS)
    gp = load_viewer(platform.engine, "gp.a")
    with pytest.raises(AckRefused, match="Only therapists and team leads"):
        acknowledge_batch(platform.engine, platform.engine, gp, pid, [nothing_seen], NOW, SETTINGS)
    # the team lead covering an absent colleague may
    ack(platform, pid, "inactive", user="lead.a")


def test_unassigned_patient_reaches_the_team_lead(platform):
    pid = platform.patient("U1", therapist=None, enrolled_days_ago=20)
    lead = load_viewer(platform.engine, "lead.a")
    t = triage(platform.engine, platform.engine, lead, NOW, SETTINGS)
    assert t.queue.set_index("patient_id").loc[pid, "therapist"] == UNASSIGNED
    only = triage(platform.engine, platform.engine, lead, NOW, SETTINGS, therapist=UNASSIGNED)
    assert list(only.queue["patient_id"]) == [pid]
    assert pid not in open_flags(platform, user="ther.a")


def test_escalation_after_one_working_day(platform):
    friday_3pm = datetime(2026, 11, 20, 15, 0)
    assert add_working_days(friday_3pm, 1) == datetime(2026, 11, 23, 15, 0)  # Monday: the weekend does not count
    pid = platform.patient("X1", enrolled_days_ago=5)
    platform.phq9(pid, (NOW - friday_3pm).total_seconds() / 86400, 14, item9=1)  # answered Friday 15:00
    other = active_patient(platform, "X2")
    platform.message(other, 3, "from_patient")
    lead = load_viewer(platform.engine, "lead.a")
    before = triage(platform.engine, platform.engine, lead, datetime(2026, 11, 23, 14, 59), SETTINGS)
    assert not before.queue.set_index("patient_id").loc[pid, "escalated"]
    after = triage(platform.engine, platform.engine, lead, datetime(2026, 11, 23, 15, 0), SETTINGS)
    top = after.queue.iloc[0]
    assert top["patient_id"] == pid and top["escalated"]


def test_cli_prints_the_same_queue_and_is_audited(platform, capsys, monkeypatch):
    a = active_patient(platform, "C1")
    platform.message(a, 3, "from_patient")
    b = active_patient(platform, "C2")
    platform.phq9(b, 0.5, 14, item9=2)
    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: NOW)
    assert queue_main(["--user", "ther.a", "--db", url, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    page = triage(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), NOW, SETTINGS)
    assert printed == queue_records(page.queue)
    assert [r["patient_code"] for r in printed] == ["C2", "C1"]
    assert {"patient_code", "flags", "reasons", "waiting_days"} <= set(printed[0])
    assert audit.read(platform.engine)["actor"].tolist() == ["cli:ther.a"]


def test_cli_unknown_user_is_a_clear_error(platform, capsys):
    url = platform.engine.url.render_as_string(hide_password=False)
    assert queue_main(["--user", "nobody", "--db", url]) == 2
    assert "no clinician with login 'nobody'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reasons", "flags", "shown"),
    [
        (["PHQ-9 item 9 answered 2 on 28 Nov"], ["risk"], "PHQ-9 item 9 answered 2 on 28 Nov"),
        (
            ["PHQ-9 item 9 answered 2 on 28 Nov", "unanswered message for 3 days", "no clinician contact for 9 days"],
            ["risk", "awaiting_reply", "no_contact"],
            "PHQ-9 item 9 answered 2 on 28 Nov · also: Awaiting reply, No contact",
        ),
    ],
)
def test_a_queue_row_shows_the_most_urgent_reason_in_full_and_names_the_others(reasons, flags, shown):
    """Issue 16, item 4: "Why" was cut off for most rows; it now fits its cell."""
    from dashboard.triage import why_text

    assert why_text(reasons, flags) == shown


def test_a_risk_answer_at_follow_up_is_triaged_escalated_acknowledged_and_printed(platform, capsys, monkeypatch):
    """Issue 20, risk at follow-up: a PHQ-9 item 9 of 2 answered 12 weeks after a
    completed episode ended is a risk like any other (clinical-reference 1.5, "any
    item-9 score > 0 raises a risk alert"): in the therapist's queue, for the GP, and
    the team lead's escalated after risk_escalation_working_days (1); a note is needed
    to acknowledge it; the queue command prints it with its follow-up context."""
    friday_3pm = datetime(2026, 11, 20, 15, 0)
    answered_ago = (NOW - friday_3pm).total_seconds() / 86400  # Friday 15:00, after NOW: the clock moves on
    pid = platform.patient("FU12", status="completed", enrolled_days_ago=150, ended_days_ago=12 * 7 + answered_ago)
    platform.phq9(pid, answered_ago, 16, item9=2)
    monday_3pm = datetime(2026, 11, 23, 15, 0)
    reason = "PHQ-9 item 9 answered 2 on 20 Nov, at follow-up, 12 weeks after the episode ended"
    for user in ("ther.a", "gp.a", "lead.a"):
        t = triage(platform.engine, platform.engine, load_viewer(platform.engine, user), monday_3pm, SETTINGS)
        row = t.queue.set_index("patient_id").loc[pid]
        assert row["flags"] == ["risk"] and row["reasons"] == [reason], user
    lead = load_viewer(platform.engine, "lead.a")
    before = triage(platform.engine, platform.engine, lead, monday_3pm - timedelta(minutes=1), SETTINGS)
    assert not before.queue.set_index("patient_id").loc[pid, "escalated"]
    assert (
        triage(platform.engine, platform.engine, lead, monday_3pm, SETTINGS)
        .queue.set_index("patient_id")
        .loc[pid, "escalated"]
    )

    url = platform.engine.url.render_as_string(hide_password=False)
    monkeypatch.setattr("dashboard.cli.queue.utcnow", lambda: monday_3pm)
    assert queue_main(["--user", "ther.a", "--db", url, "--format", "json"]) == 0
    printed = {r["patient_code"]: r for r in json.loads(capsys.readouterr().out)}
    assert printed["FU12"]["flags"] == ["risk"] and printed["FU12"]["reasons"] == [reason]

    with pytest.raises(AckRefused, match="needs a note of at least 10 characters"):
        ack(platform, pid, "risk", at=monday_3pm, note="ok")
    ack(platform, pid, "risk", at=monday_3pm, note="Phoned patient, safety plan reviewed.")
    assert pid not in open_flags(platform, at=monday_3pm)


def test_after_the_end_triage_reads_the_phq9_and_the_primary_measure_only(platform):
    """Only risk is triaged after an episode ended (the risk, risk_unknown and
    peer_concern rules), so the queue reads a closed episode's PHQ-9 and its primary
    measure only: the anxiety patient's risk answer after the end is in the queue with
    their latest GAD-7, and no ISI of theirs is read. An episode whose status the
    platform left unknown may be in treatment and keeps every instrument."""
    closed = platform.patient("ANX1", program="anxiety", status="completed", enrolled_days_ago=120, ended_days_ago=20)
    platform.gad7(closed, 21, 9)
    isi = platform.questionnaire(closed, "ISI", 20.5, 12)
    platform.phq9(closed, 3, 11, item9=1)
    unclear = platform.patient("ANX2", program="anxiety", status="on_hold", enrolled_days_ago=60, ended_days_ago=5)
    unclear_isi = platform.questionnaire(unclear, "ISI", 2, 14)
    t = triage(platform.engine, platform.engine, load_viewer(platform.engine, "ther.a"), NOW, SETTINGS)
    row = t.queue.set_index("patient_id").loc[closed]
    assert row["flags"] == ["risk"]
    assert row["latest"].startswith("9 · ") and "GAD-7" in row["latest"]
    read = set(t.responses["response_id"])
    assert isi not in read and unclear_isi in read
    assert set(t.responses.loc[t.responses["patient_id"] == closed, "instrument"]) == {"GAD7", "PHQ9"}
